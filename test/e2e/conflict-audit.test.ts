import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Arena, arena, events } from '../adversary/run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

/**
 * A conflict under `enforce: block`: task `two` failed its check in run 1, its branch
 * keeping its edit of shared.txt. Run 2 adds `one`, which also owns shared.txt and writes
 * one.txt; one merges first, then two's branch (started before one's merge) conflicts.
 * After the agent resolves it, two's branch holds one.txt too, from the integration side:
 * the audit must judge two's change from the head it merged, not from where two started.
 */
describe('a conflict resolved under enforce: block', () => {
  it("is audited from the integration head it merged: the other task's files are not the resolving task's violations", async () => {
    a = arena();
    a.repo.write('shared.txt', 'line\n');
    a.repo.commitAll('shared file');
    const pass = `${a.scratch}/pass`;
    const agent = a.script(
      'agent.sh',
      [
        'if grep -q "Resolve a merge conflict" "$1"; then printf "from one\\nfrom two\\n" > shared.txt; exit 0; fi',
        'echo "from $SWARM_TASK" > shared.txt; echo x > "$SWARM_TASK.txt"',
      ].join('\n'),
    );
    const head = [
      'version: 1',
      'name: ca',
      'concurrency: 2',
      'retries: 0',
      'lease:',
      '  enforce: block',
      'merge:',
      '  on_conflict: agent',
      'agent:',
      '  kind: command',
      '  sandbox: off',
      `  command: ${JSON.stringify(['sh', agent, '{prompt_file}'])}`,
      'tasks:',
    ];
    const two = ['  - id: two', '    prompt: Do two.', '    files: ["shared.txt", "two.txt"]', `    check: test -e ${pass}`];
    a.spec([...head, ...two]);
    const first = await a.run();
    expect(first.exitCode).toBe(1);

    writeFileSync(pass, '');
    a.spec([...head, '  - id: one', '    prompt: Do one.', '    files: ["shared.txt", "one.txt"]', ...two]);
    const second = await a.run();
    const evs = events(second.stdout);
    expect(evs.some((e) => e.type === 'merge' && e.reason === 'conflict' && e.task === 'two')).toBe(true);
    expect(evs.filter((e) => e.type === 'lease' && e.reason === 'violation')).toEqual([]);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(a.repo.git('show', 'swarm/ca:shared.txt')).toBe('from one\nfrom two');
    expect(a.repo.git('ls-tree', '--name-only', 'swarm/ca').split('\n')).toEqual(expect.arrayContaining(['one.txt', 'two.txt']));
  }, 60_000);
});
