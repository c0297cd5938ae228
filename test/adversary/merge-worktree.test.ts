import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, commandSpec, events, mergedTasks, NO_SANDBOX, readLines, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

// The runner's own care of _merge is under test; in the sandbox an agent cannot reach it.
function spec(agent: string, extra: readonly string[] = []): string[] {
  return commandSpec({ name: 'mw', agent, top: ['concurrency: 1'], agentLines: NO_SANDBOX, tail: extra, tasks: ['a', 'b'] });
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

  it('is cleaned before every merge: a file an agent staged there does not ride along or break a later merge', async () => {
    a = arena();
    const mergeDir = join(a.repo.dir, '.swarm', 'worktrees', 'mw', '_merge');
    // b's agent stages a file in the merge worktree and leaves an untracked one there.
    const agent = a.script(
      'agent.sh',
      [
        'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
        `if [ "$SWARM_TASK" = b ]; then echo planted > "${mergeDir}/planted.txt"; git -C "${mergeDir}" add planted.txt; echo junk > "${mergeDir}/junk.txt"; fi`,
      ].join('\n'),
    );
    a.spec([...spec(agent), '  - id: c', '    prompt: Do c.', '    files: ["c.txt"]', '    depends_on: [b]', '    allow_empty: true']);
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    // Tamper detection fails b (it changed the merge worktree); whatever it left there is
    // swept before the next merge, so a lands cleanly and nothing planted is ever merged.
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const evs = events(result.stdout);
    expect(evs.some((e) => e.type === 'lease' && e.reason === 'violation' && e.task === 'b' && e.where === 'tamper')).toBe(true);
    expect(mergedTasks(a.repo, base, 'swarm/mw')).toEqual(['a']);
    const tree = a.repo.git('ls-tree', '-r', '--name-only', 'swarm/mw').split('\n');
    expect(tree).not.toContain('planted.txt');
    expect(tree).not.toContain('junk.txt');
  }, 60_000);
});
