import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, commandSpec, mergedTasks, NO_SANDBOX, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe("an agent deletes the live runner's row in state.db (sqlite3), then someone runs swarm clean", () => {
  it('clean still sees the runner alive (the run record), exits 2 and removes nothing; the run merges everything', async () => {
    a = arena();
    const db = `${a.repo.dir}/.swarm/state.db`;
    const deleted = `${a.scratch}/deleted`;
    const go = `${a.scratch}/go`;
    // Task a clears the runners table, then works until the test has tried its clean.
    const agent = a.script(
      'agent.sh',
      [
        'if [ "$SWARM_TASK" = a ]; then',
        // A busy timeout: the runner writes the same file, and without one sqlite3 fails at once.
        `  sqlite3 -cmd '.timeout 10000' "${db}" "DELETE FROM runners" && touch "${deleted}"`,
        `  while [ ! -e "${go}" ]; do sleep 0.05; done`,
        'fi',
        'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
      ].join('\n'),
    );
    a.spec(commandSpec({ name: 'rr', agent, top: ['concurrency: 2'], agentLines: NO_SANDBOX, tasks: ['a', 'b'] }));
    const base = a.repo.git('rev-parse', 'HEAD');
    const run = a.run();
    let ended = false;
    void run.finally(() => {
      ended = true;
    });
    while (!existsSync(deleted) && !ended) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(deleted), 'the agent could not delete the runner row').toBe(true);
    const clean = await swarm(['clean', 'rr', '--force'], { cwd: a.repo.dir, timeout: 10_000 });
    writeFileSync(go, '');
    expect(clean.exitCode, String(clean.stdout)).toBe(2);
    expect(String(clean.stderr)).toMatch(/^swarm clean: the run "rr" is running \(pid \d+ on .+\); cleaning it would race it/);
    expect(String(clean.stdout)).not.toContain('removed worktree');
    const result = await run;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/rr').sort()).toEqual(['a', 'b']);
  }, 30_000);
});
