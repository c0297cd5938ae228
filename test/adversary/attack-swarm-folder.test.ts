import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, events, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('an agent that owns everything (`**`) commits files under .swarm/', () => {
  it('they never reach the integration branch, so merging it cannot overwrite the real state.db and guard hooks', async () => {
    a = arena();
    const guard = `${a.scratch}/guard.log`;
    // .swarm/ is ignored (info/exclude), hence `add -f`; first through the guard, then left
    // staged for swarm's own commit and the audit.
    const agent = a.script(
      'agent.sh',
      [
        'mkdir -p .swarm/hooks',
        'printf "#!/bin/sh\\nexit 0\\n" > .swarm/hooks/pre-commit',
        'echo junk > .swarm/state.db',
        'echo ok > a.txt',
        'git add -A; git add -f .swarm',
        `git commit -q -m tooling 2>>"${guard}" || echo refused >> "${guard}"`,
      ].join('\n'),
    );
    a.spec([
      'version: 1',
      'name: sf',
      'retries: 0',
      'lease:',
      '  enforce: block',
      'agent:',
      '  kind: command',
      // The layer under attack is swarm's own (hook, guard, audit, git), which must hold without the sandbox.
      '  sandbox: off',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["**"]',
    ]);
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(mergedTasks(a.repo, base, 'swarm/sf')).toEqual([]);
    expect(a.repo.git('ls-tree', '-r', '--name-only', 'swarm/sf')).not.toContain('.swarm/');
    expect(readFileSync(guard, 'utf8')).toContain('.swarm/state.db');
    expect(a.repo.git('log', '--format=%s', 'swarm-task/sf/a')).not.toContain('tooling');
    const refused = events(result.stdout)
      .filter((e) => e.type === 'lease' && e.reason === 'violation')
      .map((e) => e.type === 'lease' && e.reason === 'violation' && e.path);
    expect([...new Set(refused)].sort()).toEqual(['.swarm/hooks/pre-commit', '.swarm/state.db']);
    // The real state.db is untouched and still answers.
    const status = await swarm(['status', 'sf'], { cwd: a.repo.dir });
    expect(status.exitCode, String(status.stderr)).toBe(0);
  }, 30_000);
});
