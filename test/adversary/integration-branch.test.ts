import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, commandSpec, events, mergedTasks, NO_SANDBOX, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

// The layer under test is the runner's own: in the sandbox an agent cannot move the
// integration branch at all (test/adversary/adversary.test.ts covers that).
function spec(agent: string, extra: readonly string[] = []): string[] {
  return commandSpec({
    name: 'ib',
    agent,
    top: ['concurrency: 1', 'lease:', '  enforce: block'],
    agentLines: NO_SANDBOX,
    tail: extra,
    tasks: ['a', { id: 'b', dependsOn: ['a'] }],
  });
}

describe('an agent that moves the integration branch itself (git update-ref)', () => {
  it('stops the run before anything more merges, exits 2 naming the foreign commit, and the next run refuses it too', async () => {
    a = arena();
    // Task a's agent (its first run only) makes a commit of its own and points swarm/ib at it.
    const once = `${a.scratch}/planted`;
    const agent = a.script(
      'agent.sh',
      [
        'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
        `if [ "$SWARM_TASK" = a ] && [ ! -e "${once}" ]; then`,
        `  touch "${once}"`,
        '  tree=$(git write-tree)',
        '  evil=$(git commit-tree "$tree" -p "$(git rev-parse refs/heads/swarm/ib)" -m "planted by an agent")',
        '  git update-ref refs/heads/swarm/ib "$evil"',
        'fi',
      ].join('\n'),
    );
    a.spec(spec(agent));
    const base = a.repo.git('rev-parse', 'HEAD');
    const first = await a.run();
    expect(first.exitCode).toBe(2);
    const planted = a.repo.git('rev-parse', 'swarm/ib');
    expect(a.repo.git('log', '-1', '--format=%s', planted)).toBe('planted by an agent');
    expect(String(first.stderr)).toContain(
      `the integration branch swarm/ib was moved outside swarm: it is at ${planted.slice(0, 12)}, swarm left it at ${base.slice(0, 12)}`,
    );
    expect(String(first.stderr)).toContain('planted by an agent');
    // Nothing of swarm's landed on top of it, and b never started.
    expect(mergedTasks(a.repo, base, 'swarm/ib')).toEqual(['?planted by an agent']);
    expect(events(first.stdout).some((e) => e.type === 'agent' && e.task === 'b')).toBe(false);

    const second = await a.run();
    expect(second.exitCode).toBe(2);
    expect(String(second.stderr)).toContain(`git update-ref refs/heads/swarm/ib ${base} ${planted}`);
    expect(a.repo.git('rev-parse', 'swarm/ib')).toBe(planted);

    // Put back as the message says, the run goes on and merges both tasks.
    a.repo.git('update-ref', 'refs/heads/swarm/ib', base, planted);
    const third = await a.run();
    expect(third.exitCode, String(third.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/ib')).toEqual(['a', 'b']);
  }, 60_000);

  it('a move made after the run ended (a process left behind) is refused by the next run, even with nothing left to do', async () => {
    a = arena();
    a.spec(spec(a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"')));
    expect((await a.run()).exitCode).toBe(0);
    const head = a.repo.git('rev-parse', 'swarm/ib');
    a.repo.git('update-ref', 'refs/heads/swarm/ib', 'swarm/ib~1');
    const again = await a.run();
    expect(again.exitCode).toBe(2);
    expect(String(again.stderr)).toContain(`swarm left it at ${head.slice(0, 12)}`);
  }, 60_000);

  it('with --accept-branch a move the user made on purpose is taken as it is', async () => {
    a = arena();
    const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"; [ "$SWARM_TASK" = b ] && exit 1; exit 0');
    a.spec(spec(agent, ['retries: 0']));
    const base = a.repo.git('rev-parse', 'HEAD');
    expect((await a.run()).exitCode).toBe(1);
    // The user adds a commit to the integration branch by hand.
    const fix = a.repo.git('commit-tree', 'swarm/ib^{tree}', '-p', 'swarm/ib', '-m', 'a fix by hand');
    a.repo.git('update-ref', 'refs/heads/swarm/ib', fix);
    expect((await a.run()).exitCode).toBe(2);
    a.spec(spec(a.script('agent2.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"'), ['retries: 0']));
    const accepted = await a.run(['--accept-branch']);
    expect(accepted.exitCode, String(accepted.stderr)).toBe(0);
    // The file changed on main (HEAD, the base), so main is merged in before b runs; a's
    // agent changed, so a runs again, changes nothing, and lands an empty commit with its record.
    expect(mergedTasks(a.repo, base, 'swarm/ib')).toEqual(['a', '?a fix by hand', expect.stringMatching(/^\?swarm: merge base HEAD /), 'a', 'b']);
  }, 60_000);
});

describe('a move while merge.check runs (the window between the merge and its landing)', () => {
  it('the landing compare-and-swap refuses: the checked merge is not put on top of the foreign commit', async () => {
    a = arena();
    const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"');
    // Stands for a process left behind by an agent, acting exactly while the check runs.
    const mover = a.script(
      'mover.sh',
      'git update-ref refs/heads/swarm/ib "$(git commit-tree "$(git rev-parse refs/heads/swarm/ib^{tree})" -p refs/heads/swarm/ib -m sneaked)"',
    );
    a.spec(spec(agent, ['merge:', `  check: sh ${mover}`]));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain('sneaked');
    expect(mergedTasks(a.repo, base, 'swarm/ib')).toEqual(['?sneaked']);
  }, 60_000);
});

describe('a commit made on the task branch after its audit', () => {
  it('is not merged: the merge takes the audited commit, and the late commit is reported as a violation', async () => {
    a = arena();
    const go = `${a.scratch}/go`;
    const done = `${a.scratch}/late-done`;
    // The agent leaves a detached committer behind (its own session, no swarm variables),
    // which commits on the task branch once merge.check has begun, i.e. after the audit.
    const agent = a.script(
      'agent.sh',
      [
        'echo a > a.txt',
        `setsid env -i PATH="$PATH" HOME="$HOME" GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x sh -c 'while [ ! -e "${go}" ]; do sleep 0.05; done; echo late > a.txt; echo evil > evil.txt; git add -A; git commit -q --no-verify -m "late commit"; touch "${done}"' >/dev/null 2>&1 &`,
      ].join('\n'),
    );
    a.spec([
      'version: 1',
      'name: late',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      // Pinning is the layer under test: a sandbox would end the left-behind committer with the agent.
      '  sandbox: off',
      'merge:',
      `  check: touch "${go}"; while [ ! -e "${done}" ]; do sleep 0.05; done`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
    ]);
    const result = await a.run();
    expect(existsSync(done)).toBe(true);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(a.repo.git('show', 'swarm/late:a.txt')).toBe('a');
    expect(a.repo.git('ls-tree', '--name-only', 'swarm/late')).not.toContain('evil.txt');
    expect(a.repo.git('log', '-1', '--format=%s', 'swarm-task/late/a')).toBe('late commit');
    const violations = events(result.stdout).filter((e) => e.type === 'lease' && e.reason === 'violation');
    expect(violations).toEqual([expect.objectContaining({ task: 'a', where: 'merge', path: expect.stringContaining('late commit') })]);
  }, 60_000);
});
