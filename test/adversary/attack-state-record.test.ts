import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('a run record rewritten to say a failed task merged', () => {
  it('does not skip the task: the next run checks the record against the branch and runs it', async () => {
    a = arena();
    const once = `${a.scratch}/failed-once`;
    // b fails the first time; its record is then rewritten (as an unsandboxed agent with
    // sqlite3 could) to "merged" at the base commit, which is on the integration branch.
    const agent = a.script(
      'agent.sh',
      `echo "$SWARM_TASK" > "$SWARM_TASK.txt"\nif [ "$SWARM_TASK" = b ] && [ ! -e "${once}" ]; then touch "${once}"; exit 1; fi`,
    );
    a.spec([
      'version: 1',
      'name: rec',
      'retries: 0',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      '  sandbox: off',
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
      '  - id: b',
      '    prompt: Do b.',
      '    files: ["b.txt"]',
    ]);
    const base = a.repo.git('rev-parse', 'HEAD');
    expect((await a.run()).exitCode).toBe(1);
    const db = new Database(join(a.repo.dir, '.swarm', 'state.db'));
    db.prepare("UPDATE tasks SET state = 'merged', merged_sha = ? WHERE run = 'rec' AND task = 'b'").run(base);
    db.close();
    const again = await a.run();
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/rec').sort()).toEqual(['a', 'b']);
    expect(a.repo.git('show', 'swarm/rec:b.txt')).toBe('b');
  }, 60_000);
});
