import { afterEach, describe, expect, it } from 'vitest';
import { arena, commandSpec, events, mergedTasks, NO_SANDBOX, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe("an agent points its worktree's HEAD at the integration branch (git symbolic-ref, no checkout)", () => {
  it("swarm's own commit does not move the integration branch, and the task fails naming what happened", async () => {
    a = arena();
    // git's "already checked out" guard is for checkouts; symbolic-ref goes around it.
    const agent = a.script(
      'agent.sh',
      [
        'if [ "$SWARM_TASK" = b ]; then git symbolic-ref HEAD refs/heads/swarm/sr; git read-tree refs/heads/swarm/sr; fi',
        'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
      ].join('\n'),
    );
    a.spec(commandSpec({ name: 'sr', agent, top: ['concurrency: 1', 'retries: 0'], agentLines: NO_SANDBOX, tasks: ['a', { id: 'b', dependsOn: ['a'] }] }));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const failed = events(result.stdout).find((e) => e.type === 'task' && e.reason === 'state' && e.task === 'b' && e.to === 'failed');
    expect(failed?.type === 'task' && failed.reason === 'state' ? failed.detail : '').toMatch(
      // Tamper detection sees the HEAD first; swarm's own commit refuses it too, if it gets that far.
      /worktree HEAD changed \(to "ref: refs\/heads\/swarm\/sr", not its branch\)|was pointed at refs\/heads\/swarm\/sr, not at a task branch/,
    );
    expect(String(result.stdout)).not.toContain('moved outside swarm');
    expect(String(result.stdout)).not.toContain('internal error');
    // Only a's merge is there: swarm committed nothing onto the integration branch itself.
    expect(mergedTasks(a.repo, base, 'swarm/sr')).toEqual(['a']);
    expect(a.repo.git('ls-tree', '--name-only', 'swarm/sr')).not.toContain('b.txt');
  }, 30_000);
});
