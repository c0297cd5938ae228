import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe("worktrees: pointed at swarm's own folder", () => {
  it('is refused at its place in the file: a run named hooks would put worktrees among the guard hooks', async () => {
    a = arena();
    const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"');
    for (const folder of ['.swarm', '.swarm/hooks', './.swarm/logs/x', '.swarm/state.db']) {
      a.spec([
        'version: 1',
        'name: hooks',
        `worktrees: ${folder}`,
        'agent:',
        '  kind: command',
        `  command: ${JSON.stringify(['sh', agent])}`,
        'tasks:',
        '  - id: pre-commit',
        '    prompt: Do it.',
        '    files: ["a.txt"]',
      ]);
      const message = `swarm.yaml:3:12 error: worktrees: ${JSON.stringify(folder)} holds swarm's own files (state.db, hooks, logs); choose .swarm/worktrees or a folder of its own`;
      const validate = await swarm(['validate', 'swarm.yaml'], { cwd: a.repo.dir });
      expect(validate.exitCode, folder).toBe(2);
      expect(String(validate.stderr) + String(validate.stdout)).toContain(message);
      const run = await a.run();
      expect(run.exitCode, folder).toBe(2);
      expect(String(run.stderr)).toContain(message);
      expect(a.repo.git('branch', '--list', 'swarm*')).toBe('');
      expect(existsSync(join(a.repo.dir, '.swarm', 'hooks', '_merge'))).toBe(false);
    }
  }, 30_000);

  it('a folder of its own under .swarm is fine', async () => {
    a = arena();
    const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"');
    a.spec([
      'version: 1',
      'name: hooks',
      'worktrees: .swarm/wt',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: pre-commit',
      '    prompt: Do it.',
      '    files: ["pre-commit.txt"]',
    ]);
    const run = await a.run();
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(a.repo.git('show', 'swarm/hooks:pre-commit.txt')).toBe('pre-commit');
  }, 30_000);
});
