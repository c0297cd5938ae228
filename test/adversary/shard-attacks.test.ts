import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines, type SpecTask } from './run-fixture.js';
import { git } from '../helpers/git-repo.js';
import { cleanupShards, cloneOf, finalStates, landedOnOrigin, runShard, shardOrigin, why } from '../helpers/shards.js';

// Issue 16, attacked: each test tries to break one guarantee of `swarm run --shard K/N --push origin`.
// Estimates pin the assignment (longest first onto the least loaded shard, ties to the lowest index).

const INTO = 'swarm/sa';
afterEach(cleanupShards);

const task = (id: string, estimate: string, dependsOn?: string[], more: string[] = []): SpecTask => ({
  id,
  ...(dependsOn ? { dependsOn } : {}),
  lines: [`    estimate: ${estimate}`, ...more],
});

/** Each start goes to `starts`; a task named in `slow` waits for the flag file `go` (and says so in `<task>-started`). */
function agentBody(slow = ''): string {
  return [
    'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
    `case " ${slow} " in *" $SWARM_TASK "*) touch "$SCRATCH/$SWARM_TASK-started"; while [ ! -e "$SCRATCH/go" ]; do sleep 0.1; done ;; esac`,
    'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
  ].join('\n');
}

async function waitFor(path: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (r: { stderr?: unknown; stdout?: unknown }) => `${String(r.stderr)} ${why(r.stdout)}`;

describe('attacks on --shard: kills', () => {
  it('a shard SIGKILLed after its push and before its local land: the re-run lands nothing twice and runs nothing again', async () => {
    // shard 1: a (10m) | shard 2: b (9m, needs a).
    const tasks = [task('a', '10m'), task('b', '9m', ['a'])];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: agentBody() });
    const env = { SCRATCH: scratch };
    const clone1 = cloneOf(origin);
    const [killed, two] = await Promise.all([runShard(clone1, 1, 2, { ...env, SWARM_TEST_CRASH_AT: 'merge:pushed' }), runShard(cloneOf(origin), 2, 2, env)]);
    expect(killed.signal, out(killed)).toBe('SIGKILL');
    // a reached origin before the kill, so b's shard went on.
    expect(two.exitCode, out(two)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a', 'b']);
    // The same clone again (local state.db says the merge was under way), then a fresh clone (CI's re-run).
    for (const dir of [clone1, cloneOf(origin)]) {
      const again = await runShard(dir, 1, 2, env);
      expect(again.exitCode, out(again)).toBe(0);
      expect(finalStates(again.stdout).get('a')?.to ?? 'merged').toBe('merged');
    }
    expect(landedOnOrigin(origin, INTO)).toEqual(['a', 'b']);
    expect(readLines(join(scratch, 'starts')).sort()).toEqual(['a', 'b']);
  }, 60_000);

  it('two jobs of one shard: the first SIGSTOPped past its claim going stale, a second takes over, the first continues; a lands once', async () => {
    const tasks = [task('a', '10m'), task('b', '9m')];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: agentBody('a') });
    const env = { SCRATCH: scratch, SWARM_SHARD_STALE_MS: '3000' };
    const first = runShard(cloneOf(origin), 1, 2, env);
    await waitFor(join(scratch, 'a-started'));
    process.kill(first.pid!, 'SIGSTOP');
    try {
      await sleep(4000);
      const second = runShard(cloneOf(origin), 1, 2, env);
      // Both agents of a wait for `go`: let the second job's agent start too, then free both and wake the first job.
      while (readLines(join(scratch, 'starts')).length < 2) await sleep(50);
      writeFileSync(join(scratch, 'go'), '');
      await sleep(300);
      process.kill(first.pid!, 'SIGCONT');
      const [r1, r2] = await Promise.all([first, second]);
      expect(r2.exitCode, out(r2)).toBe(0);
      // The first job learns it lost the shard, or finds a landed already; either way a is on origin once.
      expect([0, 1, 2], out(r1)).toContain(r1.exitCode);
      expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
    } finally {
      try {
        process.kill(first.pid!, 'SIGCONT');
      } catch {}
    }
  }, 60_000);
});

describe('attacks on --shard: a job stopped inside its merge', () => {
  it('the first job SIGSTOPs in its merge.check (checked, not pushed) past its claim going stale; a second job lands a; the first, continued, does not land it again', async () => {
    const { origin, scratch } = shardOrigin({
      name: 'sa',
      tasks: [task('a', '10m'), task('b', '9m')],
      agent: agentBody(),
      // In the first job only: the check stops the runner (its parent) once, and says so.
      top: ['merge:', '  check: if [ -n "$STOPME" ] && [ ! -e "$SCRATCH/stopped" ]; then echo $PPID > "$SCRATCH/stopped"; kill -STOP $PPID; fi'],
    });
    const env = { SCRATCH: scratch, SWARM_SHARD_STALE_MS: '3000' };
    const first = runShard(cloneOf(origin), 1, 2, { ...env, STOPME: '1' });
    await waitFor(join(scratch, 'stopped'));
    expect(readLines(join(scratch, 'stopped'))).toEqual([String(first.pid)]);
    try {
      await sleep(4000);
      const r2 = await runShard(cloneOf(origin), 1, 2, env);
      expect(r2.exitCode, out(r2)).toBe(0);
      expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
    } finally {
      process.kill(first.pid!, 'SIGCONT');
    }
    const r1 = await first;
    expect(r1.exitCode, out(r1)).not.toBe(0);
    expect(String(r1.stderr)).toMatch(/--shard: shard 1\/2's claim on origin was taken over by another job .*; this run stops/);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
    expect(readLines(join(scratch, 'starts'))).toEqual(['a', 'a']);
  }, 60_000);
});

describe('attacks on --shard: a stale job that ends after the takeover', () => {
  it('the stopped first job, continued while the second still runs a, records nothing that blocks b in shard 2', async () => {
    // shard 1: a (10m, waits for go) | shard 2: b (9m, needs a).
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks: [task('a', '10m'), task('b', '9m', ['a'])], agent: agentBody('a') });
    const env = { SCRATCH: scratch, SWARM_SHARD_STALE_MS: '3000' };
    const two = runShard(cloneOf(origin), 2, 2, env);
    const first = runShard(cloneOf(origin), 1, 2, env);
    await waitFor(join(scratch, 'a-started'));
    process.kill(first.pid!, 'SIGSTOP');
    let second: ReturnType<typeof runShard>;
    try {
      await sleep(4000);
      second = runShard(cloneOf(origin), 1, 2, env);
      while (readLines(join(scratch, 'starts')).filter((t) => t === 'a').length < 2) await sleep(50);
    } finally {
      process.kill(first.pid!, 'SIGCONT');
    }
    // The first job ends (its claim is gone) while a still runs in the second.
    const r1 = await first;
    expect(r1.exitCode, out(r1)).not.toBe(0);
    await sleep(1000);
    writeFileSync(join(scratch, 'go'), '');
    const [r2, rb] = await Promise.all([second, two]);
    expect(r2.exitCode, out(r2)).toBe(0);
    expect(rb.exitCode, out(rb)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a', 'b']);
  }, 60_000);
});

describe('attacks on --shard: the remote', () => {
  it('origin unreachable for a few seconds mid-run (moved away and back): the shard waits and finishes, it does not think its claim was taken', async () => {
    const tasks = [task('a', '10m')];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: agentBody('a') });
    // Heartbeats every second.
    const env = { SCRATCH: scratch, SWARM_SHARD_STALE_MS: '3000' };
    const run = runShard(cloneOf(origin), 1, 1, env);
    await waitFor(join(scratch, 'a-started'));
    renameSync(origin, `${origin}.away`);
    await sleep(2500);
    renameSync(`${origin}.away`, origin);
    writeFileSync(join(scratch, 'go'), '');
    const r = await run;
    expect(r.exitCode, out(r)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
  }, 60_000);

  it('origin unreachable while the task ends and its merge is pushed (moved away for 3 s): the merge waits for it and lands', async () => {
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks: [task('a', '10m')], agent: agentBody('a') });
    const run = runShard(cloneOf(origin), 1, 1, { SCRATCH: scratch });
    await waitFor(join(scratch, 'a-started'));
    renameSync(origin, `${origin}.away`);
    writeFileSync(join(scratch, 'go'), '');
    await sleep(3000);
    renameSync(`${origin}.away`, origin);
    const r = await run;
    expect(r.exitCode, out(r)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
  }, 60_000);

  // Broke before: the publisher (engine/publish.ts) read any refused push of a running task's branch as "someone else
  // pushed it meanwhile" and stopped the run for good; only a lost compare-and-swap does now.
  it("origin unreachable when the running task's work is pushed (every 500 ms here): the run goes on once origin is back", async () => {
    const agent = [
      'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
      'echo one > a.txt && git add -A && git commit -q -m one && touch "$SCRATCH/a-started"',
      'while [ ! -e "$SCRATCH/go" ]; do sleep 0.1; done',
      'echo two >> a.txt',
    ].join('\n');
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks: [task('a', '10m')], agent });
    const run = runShard(cloneOf(origin), 1, 1, { SCRATCH: scratch, SWARM_TEST_PUSH_INTERVAL_MS: '500' });
    await waitFor(join(scratch, 'a-started'));
    renameSync(origin, `${origin}.away`);
    await sleep(2000);
    renameSync(`${origin}.away`, origin);
    writeFileSync(join(scratch, 'go'), '');
    const r = await run;
    expect(r.exitCode, out(r)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
  }, 60_000);

  it('a remote whose pre-receive hook refuses every push: the shard stops at once and says the remote refused, not that another job claimed the shard', async () => {
    const tasks = [task('a', '10m')];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: agentBody() });
    const hook = join(origin, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "pushes are frozen" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const r = await runShard(cloneOf(origin), 1, 1, { SCRATCH: scratch });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/^swarm run: --shard: origin refused the claim of shard 1\/1 of the run "sa" \(.*pushes are frozen.*\); nothing was run$/);
    expect(String(r.stderr)).not.toMatch(/claimed on origin by another job/);
    expect(existsSync(join(scratch, 'starts'))).toBe(false);
  }, 30_000);

  it('a remote that refuses the first pushes of the integration branch (a hook veto that lifts): the task lands once', async () => {
    const tasks = [task('a', '10m'), task('b', '9m')];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: agentBody() });
    const hook = join(origin, 'hooks', 'pre-receive');
    const count = join(scratch, 'vetoes');
    writeFileSync(
      hook,
      [
        '#!/bin/sh',
        'while read old new ref; do',
        `  case "$ref" in refs/heads/swarm/*) n=$(cat ${count} 2>/dev/null || echo 0); if [ "$n" -lt 2 ]; then echo $((n+1)) > ${count}; echo "veto $n" >&2; exit 1; fi ;; esac`,
        'done',
        'exit 0',
      ].join('\n'),
    );
    chmodSync(hook, 0o755);
    const [one, two] = await Promise.all([runShard(cloneOf(origin), 1, 2, { SCRATCH: scratch }), runShard(cloneOf(origin), 2, 2, { SCRATCH: scratch })]);
    expect(one.exitCode, out(one)).toBe(0);
    expect(two.exitCode, out(two)).toBe(0);
    expect(readLines(count)).toEqual(['2']);
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['a', 'b']);
  }, 60_000);
});

/** Two commits per task (so a rebase lands more than one commit per task); `b` copies a.txt, `c` copies b.txt. */
const TWO_COMMITS = [
  'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
  'echo one > "$SWARM_TASK.txt" && git add -A && git commit -q -m "$SWARM_TASK one"',
  'case "$SWARM_TASK" in b) cat a.txt >> b.txt ;; c) cat b.txt >> c.txt ;; *) echo two >> "$SWARM_TASK.txt" ;; esac',
  'git add -A && git commit -q -m "$SWARM_TASK two"',
].join('\n');

describe('attacks on --shard: merge strategies, templates, redefinitions', () => {
  for (const strategy of ['rebase', 'squash'] as const) {
    it(`merge.strategy: ${strategy}, sharded with a cross-shard chain: each landing is accepted by the other shard and every task lands once`, async () => {
      // shard 1: a (10m), c (1m, needs b) | shard 2: b (9m, needs a), d (2m).
      const tasks = [task('a', '10m'), task('b', '9m', ['a']), task('c', '1m', ['b']), task('d', '2m')];
      const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent: TWO_COMMITS, top: ['merge:', `  strategy: ${strategy}`] });
      const env = { SCRATCH: scratch };
      const [one, two] = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
      expect(one.exitCode, out(one)).toBe(0);
      expect(two.exitCode, out(two)).toBe(0);
      expect(landedOnOrigin(origin, INTO).sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(readLines(join(scratch, 'starts')).sort()).toEqual(['a', 'b', 'c', 'd']);
      // c saw b's work, which saw a's.
      expect(git(origin, 'show', `${INTO}:c.txt`)).toBe('one\none\none\ntwo');
    }, 60_000);
  }

  it('a template run sharded: its tasks spread over the shards, each lands once, and the task after the template sees them all', async () => {
    const tasks: SpecTask[] = [
      { id: 'pkg', files: ['pkg/{{name}}.txt'], lines: ['    for_each: { values: [p1, p2, p3, p4, p5] }'] },
      { id: 'all', files: ['all.txt'], dependsOn: ['pkg'] },
    ];
    const agent = [
      'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
      'case "$SWARM_TASK" in all) cat pkg/*.txt > all.txt ;; *) mkdir -p pkg && echo "$SWARM_TASK" > "pkg/$(echo "$SWARM_TASK" | cut -c5-).txt" ;; esac',
    ].join('\n');
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent });
    const env = { SCRATCH: scratch };
    const [one, two] = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
    expect(one.exitCode, out(one)).toBe(0);
    expect(two.exitCode, out(two)).toBe(0);
    const ids = ['all', 'pkg.p1', 'pkg.p2', 'pkg.p3', 'pkg.p4', 'pkg.p5'];
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(ids);
    expect(readLines(join(scratch, 'starts')).sort()).toEqual(ids);
    // Both shards ran some of the template.
    for (const r of [one, two]) expect([...finalStates(r.stdout)].some(([id, s]) => id.startsWith('pkg.') && s.to === 'merged' && !s.detail)).toBe(true);
    expect(git(origin, 'show', `${INTO}:all.txt`)).toBe('pkg.p1\npkg.p2\npkg.p3\npkg.p4\npkg.p5');
  }, 60_000);

  // Broke before: the re-run b was judged "already landed on origin, with this definition" by its landing from the
  // first run (same hash: only a changed), so its new work was dropped. A landing now stands only on top of each
  // dependency's current landing (ShardLink#stands).
  it('a task redefined between runs: both shards re-run, the task runs again, and its dependent in the other shard runs again on the new work', async () => {
    // shard 1: a (10m) | shard 2: b (9m, needs a). a writes $V; b copies a.txt.
    const agent = ['echo "$SWARM_TASK" >> "$SCRATCH/starts"', 'case "$SWARM_TASK" in a) echo "$V" > a.txt ;; b) cat a.txt > b.txt ;; esac'].join('\n');
    const tasks = [task('a', '10m', undefined, ['    env: { V: "1" }']), task('b', '9m', ['a'])];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent });
    const env = { SCRATCH: scratch };
    const first = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
    for (const r of first) expect(r.exitCode, out(r)).toBe(0);
    expect(git(origin, 'show', `${INTO}:b.txt`)).toBe('1');
    // a is redefined on main; CI runs both shards again.
    const editor = cloneOf(origin);
    const yaml = join(editor, 'swarm.yaml');
    writeFileSync(yaml, git(editor, 'show', 'HEAD:swarm.yaml').replace('V: "1"', 'V: "2"'));
    git(editor, 'commit', '-q', '-am', 'a: V=2');
    git(editor, 'push', '-q', 'origin', 'HEAD:main');
    await sleep(1100);
    const again = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
    for (const r of again) expect(r.exitCode, out(r)).toBe(0);
    expect(git(origin, 'show', `${INTO}:a.txt`)).toBe('2');
    // The dependent's work must be redone on the new a, as on one machine.
    expect(readLines(join(scratch, 'starts'))).toEqual(['a', 'b', 'a', 'b']);
    expect(git(origin, 'show', `${INTO}:b.txt`)).toBe('2');
  }, 90_000);

  it('a moved base and three shards re-run at once: exactly one merge of the base lands', async () => {
    // shards 1-3 hold bad, x, y; bad fails until fix.txt is on the integration branch.
    const agent = [
      'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
      '[ "$SWARM_TASK" = bad ] && [ ! -f fix.txt ] && exit 1',
      'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
    ].join('\n');
    const tasks = [task('bad', '10m'), task('x', '9m'), task('y', '8m')];
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks, agent });
    const env = { SCRATCH: scratch };
    const first = await Promise.all([1, 2, 3].map((k) => runShard(cloneOf(origin), k, 3, env)));
    expect(first.map((r) => r.exitCode)).toEqual([1, 0, 0]);
    await sleep(1100);
    const fixer = cloneOf(origin);
    writeFileSync(join(fixer, 'fix.txt'), 'fixed\n');
    git(fixer, 'add', 'fix.txt');
    git(fixer, 'commit', '-q', '-m', 'fix');
    git(fixer, 'push', '-q', 'origin', 'HEAD:main');
    const again = await Promise.all([1, 2, 3].map((k) => runShard(cloneOf(origin), k, 3, env)));
    for (const r of again) expect(r.exitCode, out(r)).toBe(0);
    expect(git(origin, 'log', '--first-parent', '--format=%(trailers:key=Swarm-Base,valueonly)', INTO).split('\n').filter(Boolean)).toHaveLength(1);
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['bad', 'x', 'y']);
    expect(readLines(join(scratch, 'starts')).sort()).toEqual(['bad', 'bad', 'x', 'y']);
  }, 90_000);
});

describe('attacks on --shard: jobs checked out at different commits', () => {
  // Broke before: with no integration branch on origin yet, each job starts it at its own checkout; shard 2 (checked
  // out after main moved) landed b on the newer commit, and shard 1 refused main's commit there ("which no shard of the
  // run landed"). A branch that holds no landing of its own now takes the commits of main the remote's branch starts
  // with. (Checkouts at different commits can still split the file differently: the examples pin one commit.)
  it("main moves between the two jobs' checkouts of a first run: both shards still finish, each task landed once", async () => {
    // shard 1: a (10m, waits for go) | shard 2: b (9m).
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks: [task('a', '10m'), task('b', '9m')], agent: agentBody('a') });
    const env = { SCRATCH: scratch };
    const clone1 = cloneOf(origin);
    const mover = cloneOf(origin);
    writeFileSync(join(mover, 'later.txt'), 'later\n');
    git(mover, 'add', 'later.txt');
    git(mover, 'commit', '-q', '-m', 'later on main');
    git(mover, 'push', '-q', 'origin', 'HEAD:main');
    const clone2 = cloneOf(origin);
    const one = runShard(clone1, 1, 2, env);
    await waitFor(join(scratch, 'a-started'));
    const r2 = await runShard(clone2, 2, 2, env);
    writeFileSync(join(scratch, 'go'), '');
    const r1 = await one;
    expect(r2.exitCode, out(r2)).toBe(0);
    expect(r1.exitCode, out(r1)).toBe(0);
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['a', 'b']);
  }, 60_000);
});

describe('attacks on --shard: failed records', () => {
  // Broke before: ShardLink#current compared the record's date (the writer's clock) with this job's start (this
  // machine's clock). It now compares only times written by the record's own shard (its claim's start and heartbeat),
  // and measures the grace from when this job first saw the record.
  it('a failed record dated ahead of this machine (a shard whose clock runs 10 minutes fast, or a forged date) blocks nothing while its shard re-runs the task', async () => {
    // shard 1: a (10m) | shard 2: b (9m, needs a). a fails until $SCRATCH/fixed exists, then waits for go.
    const agent = [
      'echo "$SWARM_TASK" >> "$SCRATCH/starts"',
      '[ "$SWARM_TASK" = a ] && [ ! -f "$SCRATCH/fixed" ] && exit 1',
      '[ "$SWARM_TASK" = a ] && while [ ! -e "$SCRATCH/go" ]; do sleep 0.1; done',
      'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
    ].join('\n');
    const { origin, scratch } = shardOrigin({ name: 'sa', tasks: [task('a', '10m'), task('b', '9m', ['a'])], agent });
    const env = { SCRATCH: scratch };
    const failed = await runShard(cloneOf(origin), 1, 2, env);
    expect(failed.exitCode, out(failed)).toBe(1);
    // The record, as a machine with a fast clock would have written it.
    const forger = cloneOf(origin);
    const ref = 'refs/swarm/sa/failed/a';
    git(forger, 'fetch', '-q', 'origin', `+${ref}:${ref}`);
    const message = git(forger, 'log', '-1', '--format=%B', ref);
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const forged = execFileSync('git', ['commit-tree', `${ref}^{tree}`, '-p', `${ref}^`, '-m', message], {
      cwd: forger,
      env: { ...process.env, GIT_COMMITTER_DATE: future, GIT_AUTHOR_DATE: future },
      encoding: 'utf8',
    }).trim();
    git(forger, 'push', '-q', '--force', 'origin', `${forged}:${ref}`);
    writeFileSync(join(scratch, 'fixed'), '');
    // CI re-runs both jobs together; a takes a few seconds in shard 1.
    const one = runShard(cloneOf(origin), 1, 2, env);
    const two = runShard(cloneOf(origin), 2, 2, env);
    await sleep(3000);
    writeFileSync(join(scratch, 'go'), '');
    const [r1, r2] = await Promise.all([one, two]);
    expect(r1.exitCode, out(r1)).toBe(0);
    expect(r2.exitCode, out(r2)).toBe(0);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a', 'b']);
  }, 60_000);
});

describe('attacks on --shard: a shard SIGKILLed at every named point of its first merge, then run again in the same clone', () => {
  for (const point of ['merge:prepared', 'merge:intent', 'merge:checked', 'merge:pushed', 'merge:landed', 'merge:recorded'] as const) {
    it(`${point}: every task lands on origin once, every landing there was checked, and the other shard finishes`, async () => {
      // shard 1: a (10m) | shard 2: b (9m, needs a). merge.check logs the commit it judged.
      const { origin, scratch } = shardOrigin({
        name: 'sa',
        tasks: [task('a', '10m'), task('b', '9m', ['a'])],
        agent: agentBody(),
        top: ['merge:', '  check: git rev-parse HEAD >> "$SCRATCH/checked"'],
      });
      const env = { SCRATCH: scratch };
      const two = runShard(cloneOf(origin), 2, 2, env);
      const clone1 = cloneOf(origin);
      const crashed = await runShard(clone1, 1, 2, { ...env, SWARM_TEST_CRASH_AT: point });
      expect(crashed.signal, out(crashed)).toBe('SIGKILL');
      const again = await runShard(clone1, 1, 2, env);
      const r2 = await two;
      expect(again.exitCode, out(again)).toBe(0);
      expect(r2.exitCode, out(r2)).toBe(0);
      expect(landedOnOrigin(origin, INTO)).toEqual(['a', 'b']);
      const judged = new Set(readLines(join(scratch, 'checked')));
      for (const sha of git(origin, 'rev-list', '--first-parent', `main..${INTO}`).split('\n')) expect(judged.has(sha), `${sha} was never checked`).toBe(true);
      // a's work was committed before the kill: its agent is not run again.
      expect(readLines(join(scratch, 'starts')).sort()).toEqual(['a', 'b']);
    }, 60_000);
  }
});
