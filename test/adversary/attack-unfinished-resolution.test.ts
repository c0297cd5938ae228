import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, events, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

/**
 * Two tasks that both rewrite shared.txt (enforce: off lets them): `one` merges first,
 * `two` conflicts and its agent is asked to resolve. The agent is a script whose resolver
 * part the test sets through `resolve.sh` (a file it runs), so each run can behave differently.
 */
function setup(a: Arena): { resolve: string; base: string } {
  a.repo.write('shared.txt', 'line\n');
  a.repo.commitAll('shared file');
  const resolve = `${a.scratch}/resolve.sh`;
  const agent = a.script(
    'agent.sh',
    [
      `if grep -q "Resolve a merge conflict" "$1"; then exec sh ${JSON.stringify(resolve)}; fi`,
      'echo "from $SWARM_TASK" > shared.txt; echo x > "$SWARM_TASK.txt"',
      '[ "$SWARM_TASK" = two ] && sleep 1',
      'exit 0',
    ].join('\n'),
  );
  a.spec([
    'version: 1',
    'name: ur',
    'concurrency: 2',
    'retries: 0',
    'lease:',
    '  enforce: off',
    'merge:',
    '  on_conflict: agent',
    'agent:',
    '  kind: command',
    // The layer under attack is swarm's own (hook, guard, audit, git), which must hold without the sandbox.
    '  sandbox: off',
    `  command: ${JSON.stringify(['sh', agent, '{prompt_file}'])}`,
    'tasks:',
    '  - id: one',
    '    prompt: Do one.',
    '    files: ["one.txt"]',
    '  - id: two',
    '    prompt: Do two.',
    '    files: ["two.txt"]',
  ]);
  return { resolve, base: a.repo.git('rev-parse', 'HEAD') };
}

const RESOLVE_BOTH = 'printf "from one\\nfrom two\\n" > shared.txt';

describe('a conflict resolution that did not finish, then the run again', () => {
  it("after a failed resolution, the task's next attempt cannot conclude the merge with its own file: the other task's work stays", async () => {
    a = arena();
    const { resolve } = setup(a);
    writeFileSync(resolve, 'exit 1\n');
    const first = await a.run();
    expect(first.exitCode).toBe(1);
    expect(a.repo.git('show', 'swarm/ur:shared.txt')).toBe('from one');

    // Run again: two's agent starts over (it writes "from two" again), then resolves properly.
    writeFileSync(resolve, `${RESOLVE_BOTH}\n`);
    const second = await a.run();
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(a.repo.git('show', 'swarm/ur:shared.txt')).toBe('from one\nfrom two');
    expect(events(second.stdout).some((e) => e.type === 'log' && e.message.includes('task two: undid the unfinished merge of swarm/ur'))).toBe(true);
    expect(events(second.stdout).some((e) => e.type === 'merge' && e.reason === 'conflict' && e.task === 'two')).toBe(true);
  }, 30_000);

  it('after the runner was killed while the agent resolved, the resumed run raises the conflict again instead of dropping a side', async () => {
    a = arena();
    const { resolve } = setup(a);
    const resolving = `${a.scratch}/resolving`;
    writeFileSync(resolve, `touch "${resolving}"; sleep 20\n`);
    const first = a.run();
    while (!existsSync(resolving)) await new Promise((r) => setTimeout(r, 50));
    process.kill(first.pid!, 'SIGKILL');
    expect((await first).signal).toBe('SIGKILL');

    writeFileSync(resolve, `${RESOLVE_BOTH}\n`);
    const resumed = await a.run();
    expect(resumed.exitCode, String(resumed.stderr)).toBe(0);
    expect(a.repo.git('show', 'swarm/ur:shared.txt')).toBe('from one\nfrom two');
    expect(a.repo.git('status', '--porcelain')).toBe('');
  }, 30_000);
});
