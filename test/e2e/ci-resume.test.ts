import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, commandSpec, events, readLines, type Arena } from '../adversary/run-fixture.js';
import { swarm } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

// The CI scenario of issue 15: the runner's disk (state.db, local branches) is gone between
// runs; the remote and the run record on the integration branch are all that is left.

const INTO = 'swarm/ci';
let a: Arena | undefined;
const temps: string[] = [];
afterEach(() => {
  a?.cleanup();
  a = undefined;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** An arena whose repository has a bare `origin` holding main; agents log each start to `starts`. */
function withOrigin(tasks: Parameters<typeof commandSpec>[0]['tasks'], agentBody?: string): { arena: Arena; origin: string; starts: string } {
  const arenaNow = arena();
  a = arenaNow;
  const origin = temp('swarm-origin-');
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  const starts = join(arenaNow.scratch, 'starts');
  const agent = arenaNow.script(
    'agent.sh',
    agentBody ??
      [
        `echo "$SWARM_TASK" >> ${starts}`,
        // Each start adds a line: a continued branch shows the earlier runner's line too.
        'echo "work of $SWARM_TASK, attempt $SWARM_ATTEMPT" >> "$SWARM_TASK.txt"',
      ].join('\n'),
  );
  arenaNow.spec(commandSpec({ name: 'ci', agent, top: ['retries: 0'], agentLines: ['  sandbox: off'], tasks }));
  arenaNow.repo.git('remote', 'add', 'origin', origin);
  arenaNow.repo.git('push', '-q', 'origin', 'main');
  return { arena: arenaNow, origin, starts };
}

function cloneOf(origin: string): string {
  const dir = join(temp('swarm-clone-'), 'repo');
  git(process.cwd(), 'clone', '-q', origin, dir);
  git(dir, 'config', 'user.name', 'swarm test');
  git(dir, 'config', 'user.email', 'test@swarm.invalid');
  return dir;
}

function runIn(dir: string, args: readonly string[] = [], env: Record<string, string> = {}) {
  return swarm(['run', 'swarm.yaml', '--ui', 'json', '--push', ...args], { cwd: dir, env });
}

/** `Swarm-Task:` (and `Swarm-Base:`) trailers on origin's integration branch, first-parent, oldest first. */
function recordOnOrigin(origin: string): string[] {
  const out = git(origin, 'log', '--first-parent', '--reverse', '--format=%(trailers:key=Swarm-Task,key=Swarm-Base,separator=%x20)', INTO);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^Swarm-Base: .*/, 'base').replace(/^Swarm-Task: /, ''));
}

function show(repoDir: string, ref: string, path: string): string {
  return git(repoDir, 'show', `${ref}:${path}`);
}

describe('--push and the run record: a CI re-run from a fresh clone', () => {
  it('resumes from origin: merged tasks are not run again, the failed one continues its pushed branch, the fixed base is merged in', async () => {
    const {
      arena: ar,
      origin,
      starts,
    } = withOrigin(['a', { id: 'b', dependsOn: ['a'] }, { id: 'c', lines: ['    check: test -f fix.txt'] }, { id: 'd', dependsOn: ['c'] }]);

    const first = await ar.run(['--push']);
    expect(first.exitCode, String(first.stderr)).toBe(1);
    expect(readLines(starts).sort()).toEqual(['a', 'b', 'c']);
    // Pushed: the merges, and the failed task's committed work.
    expect(recordOnOrigin(origin)).toEqual(['a', 'b']);
    expect(show(origin, 'swarm-task/ci/c', 'c.txt')).toBe('work of c, attempt 1');
    const olderDb = join(temp('swarm-db-'), 'state.db');
    copyFileSync(join(ar.repo.dir, '.swarm', 'state.db'), olderDb);

    // The fix lands on main, as a person would do it.
    ar.repo.write('fix.txt', 'the fix\n');
    ar.repo.commitAll('fix what c needs');
    ar.repo.git('push', '-q', 'origin', 'main');

    // A brand-new runner: a fresh clone, no state.db, no local swarm branches.
    const clone2 = cloneOf(origin);
    const second = await runIn(clone2);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    const started = readLines(starts).slice(3);
    expect(started.sort()).toEqual(['c', 'd']);
    // c continued its pushed branch (the first runner's line is there) and saw the fix.
    expect(show(origin, INTO, 'c.txt')).toBe('work of c, attempt 1\nwork of c, attempt 1');
    expect(show(origin, INTO, 'fix.txt')).toBe('the fix');
    // Each task's record exactly once, and the base's merge before the tasks that needed it.
    expect(recordOnOrigin(origin)).toEqual(['a', 'b', 'base', 'c', 'd']);
    expect(git(clone2, 'rev-parse', INTO)).toBe(git(origin, 'rev-parse', INTO));
    const said = events(second.stdout).flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(said.some((m) => /record on swarm\/ci shows a, b merged.*rebuilt from git/.test(m))).toBe(true);
    expect(said.some((m) => /the base HEAD \([0-9a-f]{12}\) is not in swarm\/ci yet.*merging it in first/.test(m))).toBe(true);

    // A third runner whose state.db was restored from the first run (it knows less than the branch).
    const clone3 = cloneOf(origin);
    mkdirSync(join(clone3, '.swarm'));
    copyFileSync(olderDb, join(clone3, '.swarm', 'state.db'));
    const before = git(origin, 'rev-parse', INTO);
    const third = await runIn(clone3);
    expect(third.exitCode, String(third.stderr)).toBe(0);
    expect(readLines(starts)).toHaveLength(5);
    expect(git(origin, 'rev-parse', INTO)).toBe(before);
  }, 240_000);

  it('a runner SIGKILLed between a merge and its push: the next run pushes it, and merges nothing twice', async () => {
    const { arena: ar, origin, starts } = withOrigin(['a', { id: 'b', dependsOn: ['a'] }]);
    const killed = await ar.run(['--push'], { SWARM_TEST_CRASH_AT: 'push:integration' });
    expect(killed.signal).toBe('SIGKILL');
    expect(readLines(starts)).toEqual(['a']);
    // Merged here, not yet on origin.
    expect(ar.repo.git('log', '-1', '--format=%(trailers:key=Swarm-Task,valueonly)', INTO)).toBe('a');
    expect(git(origin, 'for-each-ref', `refs/heads/${INTO}`)).toBe('');

    // Nothing to do for a alone: the push it missed goes out all the same.
    const onlyA = await ar.run(['--push', '--only', 'a']);
    expect(onlyA.exitCode, String(onlyA.stderr)).toBe(0);
    expect(recordOnOrigin(origin)).toEqual(['a']);

    const again = await ar.run(['--push']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(readLines(starts)).toEqual(['a', 'b']);
    expect(recordOnOrigin(origin)).toEqual(['a', 'b']);
    expect(git(origin, 'rev-parse', INTO)).toBe(ar.repo.git('rev-parse', INTO));
  }, 120_000);

  it("a failed attempt's work is pushed before its retry: a runner killed during the retry leaves it on origin", async () => {
    const retrying = join(temp('swarm-flag-'), 'retrying');
    const body = [
      'echo "work of $SWARM_TASK, attempt $SWARM_ATTEMPT" >> "$SWARM_TASK.txt"',
      `if [ "$SWARM_ATTEMPT" = 2 ]; then touch ${retrying}; sleep 60; fi`,
    ].join('\n');
    const { arena: ar, origin } = withOrigin([{ id: 'a', lines: ['    retries: 1', '    check: grep -q "attempt 2" a.txt'] }], body);
    const run = ar.run(['--push']);
    while (!existsSync(retrying)) await new Promise((r) => setTimeout(r, 50));
    const branch = 'refs/heads/swarm-task/ci/a';
    for (let i = 0; i < 200 && git(origin, 'for-each-ref', branch) === ''; i++) await new Promise((r) => setTimeout(r, 50));
    process.kill(run.pid!, 'SIGKILL');
    await run.catch(() => undefined);
    expect(git(origin, 'show', `${branch}:a.txt`)).toContain('work of a, attempt 1');
  }, 120_000);

  it('a push refused because someone else moved the remote branch stops the run (exit 2)', async () => {
    const { arena: ar, origin, starts } = withOrigin(['a', { id: 'b', dependsOn: ['a'] }], '');
    // While a works, someone else pushes the integration branch; b takes its time.
    ar.script(
      'agent.sh',
      [
        `echo "$SWARM_TASK" >> ${starts}`,
        'echo x > "$SWARM_TASK.txt"',
        `[ "$SWARM_TASK" = a ] && git --git-dir=${origin} update-ref refs/heads/${INTO} main`,
        '[ "$SWARM_TASK" = b ] && sleep 5',
        'true',
      ].join('\n'),
    );
    const run = await ar.run(['--push']);
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toMatch(
      /swarm run: --push: origin refused swarm\/ci: swarm pushes only over what it last saw there \(nothing: the branch did not exist there\), and it is not there any more: someone else pushed it meanwhile \(git: .*stale info/,
    );
    // Nothing more merged after the refusal; origin keeps what the other party put there.
    expect(ar.repo.git('log', '--first-parent', '--format=%(trailers:key=Swarm-Task,valueonly)', `main..${INTO}`)).toBe('a');
    expect(git(origin, 'rev-parse', INTO)).toBe(git(origin, 'rev-parse', 'main'));
  }, 120_000);

  it('a local integration branch that diverged from the remote stops the run before anything starts', async () => {
    const { arena: ar, origin, starts } = withOrigin(['a']);
    const main = ar.repo.git('rev-parse', 'main');
    const theirs = git(origin, 'commit-tree', `${main}^{tree}`, '-p', main, '-m', 'theirs');
    git(origin, 'update-ref', `refs/heads/${INTO}`, theirs);
    const mine = ar.repo.git('commit-tree', `${main}^{tree}`, '-p', main, '-m', 'mine');
    ar.repo.git('update-ref', `refs/heads/${INTO}`, mine);
    const run = await ar.run(['--push']);
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toContain(
      `--push: the branch ${INTO} has diverged from origin: here it is at ${mine.slice(0, 12)}, on origin at ${theirs.slice(0, 12)}`,
    );
    expect(existsSync(starts)).toBe(false);
    expect(ar.repo.git('rev-parse', INTO)).toBe(mine);
  }, 60_000);

  it('a moved base that conflicts with the integration branch stops the run, naming the files', async () => {
    const { arena: ar, starts } = withOrigin(['a', { id: 'b', lines: ['    check: test -f fix.txt'] }]);
    expect((await ar.run()).exitCode).toBe(1);
    const head = ar.repo.git('rev-parse', INTO);
    ar.repo.write('fix.txt', 'the fix\n');
    ar.repo.write('a.txt', 'main wrote a.txt too\n');
    ar.repo.commitAll('fix, and a clash');
    const run = await ar.run();
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toMatch(/swarm run: the base HEAD \([0-9a-f]{12}\) conflicts with swarm\/ci in a\.txt; nothing was merged and no task ran/);
    expect(ar.repo.git('rev-parse', INTO)).toBe(head);
    expect(readLines(starts).sort()).toEqual(['a', 'b']);
  }, 120_000);

  it('--push names a remote that exists', async () => {
    const { arena: ar } = withOrigin(['a']);
    const run = await ar.run(['--push', 'upstream']);
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr)).toContain('swarm run: --push: no remote named "upstream"');
    expect(String(run.stderr)).toContain('(remotes: origin)');
  }, 60_000);
});
