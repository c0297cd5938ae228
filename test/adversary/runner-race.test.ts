import { afterEach, describe, expect, it } from 'vitest';
import { arena, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('two runners of one file started at the same instant', () => {
  it('exactly one runs, the other exits 2 naming it; every task merges exactly once', async () => {
    for (let round = 0; round < 6; round++) {
      a?.cleanup();
      a = arena();
      const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"; sleep 0.3');
      a.spec([
        'version: 1',
        'name: race',
        'concurrency: 2',
        'agent:',
        '  kind: command',
        `  command: ${JSON.stringify(['sh', agent])}`,
        'tasks:',
        ...['a', 'b', 'c'].flatMap((id) => [`  - id: ${id}`, `    prompt: Do ${id}.`, `    files: ["${id}.txt"]`]),
      ]);
      const base = a.repo.git('rev-parse', 'HEAD');
      // Every third round the second one is a --fresh (clean racing a live run is the next test).
      const second = round % 3 === 1 ? a.run(['--fresh']) : a.run();
      const results = await Promise.all([a.run(), second]);
      const codes = results.map((r) => r.exitCode).sort();
      expect(codes, `round ${round}: ${results.map((r) => String(r.stderr)).join(' | ')}`).toEqual([0, 2]);
      const loser = results.find((r) => r.exitCode === 2)!;
      expect(String(loser.stderr)).toMatch(/the run "race" is being worked on by another swarm process \(pid \d+ on /);
      expect(mergedTasks(a.repo, base, 'swarm/race').sort()).toEqual(['a', 'b', 'c']);
    }
  }, 120_000);

  it('swarm clean of a live run is refused with exit 2 and removes nothing', async () => {
    a = arena();
    // In its own worktree: a sandboxed agent can write nowhere else.
    const flag = `${a.repo.dir}/.swarm/worktrees/live/a/started`;
    const agent = a.script('agent.sh', 'touch started; sleep 3; rm started; echo x > "$SWARM_TASK.txt"');
    a.spec([
      'version: 1',
      'name: live',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
    ]);
    const run = a.run();
    const { existsSync } = await import('node:fs');
    while (!existsSync(flag)) await new Promise((r) => setTimeout(r, 50));
    const { swarm } = await import('../helpers/cli.js');
    const clean = await swarm(['clean', 'live', '--force'], { cwd: a.repo.dir });
    expect(clean.exitCode).toBe(2);
    expect(String(clean.stderr)).toContain('is being worked on by another swarm process');
    expect((await run).exitCode).toBe(0);
    expect(a.repo.git('show', 'swarm/live:a.txt')).toBe('x');
  }, 60_000);
});
