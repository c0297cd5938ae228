import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, mergedTasks, readLines, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

function spec(agent: string, extra: readonly string[] = []): string[] {
  return [
    'version: 1',
    'name: mw',
    'concurrency: 1',
    'agent:',
    '  kind: command',
    `  command: ${JSON.stringify(['sh', agent])}`,
    ...extra,
    'tasks:',
    '  - id: a',
    '    prompt: Do a.',
    '    files: ["a.txt"]',
    '  - id: b',
    '    prompt: Do b.',
    '    files: ["b.txt"]',
  ];
}

describe('the merge worktree', () => {
  it("runs none of the user's hooks (post-merge, post-checkout, post-commit, reference-transaction)", async () => {
    a = arena();
    const log = join(a.scratch, 'hooks.log');
    for (const hook of ['post-merge', 'post-checkout', 'post-commit', 'reference-transaction', 'post-rewrite']) {
      const path = join(a.repo.dir, '.git', 'hooks', hook);
      writeFileSync(path, `#!/bin/sh\necho "${hook} $PWD" >> "${log}"\ncat >/dev/null 2>&1 || true\n`);
      chmodSync(path, 0o755);
    }
    a.spec(spec(a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"'), ['merge:', '  strategy: rebase']));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/mw')).toEqual(['a', 'b']);
    expect(readLines(log).filter((l) => l.includes('/_merge'))).toEqual([]);
  }, 60_000);

  it('is cleaned before every merge: a file someone staged there does not ride along or break the merge', async () => {
    a = arena();
    const mergeDir = join(a.repo.dir, '.swarm', 'worktrees', 'mw', '_merge');
    // Task b's agent stages a file in the merge worktree (and leaves an untracked one) before a's merge... or b's.
    const agent = a.script(
      'agent.sh',
      ['echo "$SWARM_TASK" > "$SWARM_TASK.txt"', `if [ -d "${mergeDir}" ]; then echo planted > "${mergeDir}/planted.txt"; git -C "${mergeDir}" add planted.txt; echo junk > "${mergeDir}/junk.txt"; fi`].join('\n'),
    );
    a.spec(spec(agent));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/mw')).toEqual(['a', 'b']);
    const tree = a.repo.git('ls-tree', '-r', '--name-only', 'swarm/mw').split('\n');
    expect(tree).not.toContain('planted.txt');
    expect(tree).not.toContain('junk.txt');
  }, 60_000);
});
