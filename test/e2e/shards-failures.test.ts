import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines, type SpecTask } from '../adversary/run-fixture.js';
import { git } from '../helpers/git-repo.js';
import { cleanupShards, cloneOf, finalStates, landedOnOrigin, runShard, shardOrigin, why } from '../helpers/shards.js';

// Issue 16: what goes wrong in a sharded run. Estimates pin the assignment (longest first,
// onto the least loaded shard, ties to the lowest index), so each test knows its shards.

const INTO = 'swarm/sf';
afterEach(cleanupShards);

const task = (id: string, estimate: string, dependsOn?: string[]): SpecTask => ({
  id,
  ...(dependsOn ? { dependsOn } : {}),
  lines: [`    estimate: ${estimate}`],
});

/** Each start goes to `starts`; `bad` fails; a task named in `slow` sleeps first (the flag file `go` ends the sleep). */
function agentBody(scratch: string, slow = ''): string {
  return [
    `echo "$SWARM_TASK" >> ${join(scratch, 'starts')}`,
    '[ "$SWARM_TASK" = bad ] && [ ! -f fix.txt ] && exit 1',
    `case " ${slow} " in *" $SWARM_TASK "*) touch ${join(scratch, 'slow-started')}; while [ ! -e ${join(scratch, 'go')} ]; do sleep 0.1; done ;; esac`,
    'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
  ].join('\n');
}

async function waitFor(path: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('swarm run --shard: failures across shards', () => {
  it('a task failing in shard 1 blocks its dependents in shard 2 (and theirs back in shard 1); everything else merges', async () => {
    // shard 1: bad (10m), gc (1m) | shard 2: big (9m), child (1m, needs bad), ok1 (1m).
    const tasks = [task('bad', '10m'), task('big', '9m'), task('child', '1m', ['bad']), task('gc', '1m', ['child']), task('ok1', '1m')];
    const { origin, scratch } = shardOrigin({ name: 'sf', tasks, agent: agentBody('"$SCRATCH"') });
    // A record whose shard's job has ended is honoured after a grace (that shard may be re-running): 10 s here.
    const env = { SCRATCH: scratch, SWARM_SHARD_GRACE_MS: '10000' };
    const [one, two] = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
    expect(one.exitCode, why(one.stdout)).toBe(1);
    expect(two.exitCode, why(two.stdout)).toBe(1);
    // Merged on origin: exactly what nothing failed under.
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['big', 'ok1']);
    // child and gc never ran; bad ran once.
    expect(readLines(join(scratch, 'starts')).sort()).toEqual(['bad', 'big', 'ok1']);
    const s1 = finalStates(one.stdout);
    const s2 = finalStates(two.stdout);
    expect(s1.get('bad')?.to).toBe('failed');
    expect(s2.get('bad')).toMatchObject({ to: 'failed', detail: expect.stringMatching(/^failed in another shard \(recorded on origin\)/) });
    expect(s2.get('child')).toMatchObject({ to: 'blocked', detail: 'blocked: dependency bad failed' });
    expect(s1.get('gc')).toMatchObject({ to: 'blocked', detail: 'blocked: dependency child blocked' });

    // The fix lands on main; CI re-runs the failed jobs, each in a fresh clone (a second
    // later at least: a failed record and a claim are compared by their times).
    await new Promise((r) => setTimeout(r, 1500));
    const fixer = cloneOf(origin);
    writeFileSync(join(fixer, 'fix.txt'), 'fixed\n');
    git(fixer, 'add', 'fix.txt');
    git(fixer, 'commit', '-q', '-m', 'fix');
    git(fixer, 'push', '-q', 'origin', 'HEAD:main');
    const [again1, again2] = await Promise.all([runShard(cloneOf(origin), 1, 2, env), runShard(cloneOf(origin), 2, 2, env)]);
    expect(again1.exitCode, `${String(again1.stderr)} ${why(again1.stdout)}`).toBe(0);
    expect(again2.exitCode, `${String(again2.stderr)} ${why(again2.stdout)}`).toBe(0);
    // Each task landed once in all; the base with the fix was merged in once, by one shard.
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['bad', 'big', 'child', 'gc', 'ok1']);
    expect(git(origin, 'log', '--first-parent', '--format=%(trailers:key=Swarm-Base,valueonly)', INTO).split('\n').filter(Boolean)).toHaveLength(1);
    expect(git(origin, 'show', `${INTO}:fix.txt`)).toBe('fixed');
    // big and ok1 did not run again.
    expect(readLines(join(scratch, 'starts')).sort()).toEqual(['bad', 'bad', 'big', 'child', 'gc', 'ok1']);
  }, 180_000);

  it('a shard SIGKILLed mid-run and started again finishes the run; every task lands on origin exactly once', async () => {
    // shard 1: a (10m), c (1m, needs b) | shard 2: b (9m, needs a), d (2m).
    const tasks = [task('a', '10m'), task('b', '9m', ['a']), task('c', '1m', ['b']), task('d', '2m')];
    const { origin, scratch } = shardOrigin({ name: 'sf', tasks, agent: agentBody('"$SCRATCH"', 'c') });
    const env = { SCRATCH: scratch };
    const clone1 = cloneOf(origin);
    const first = runShard(clone1, 1, 2, env);
    const two = runShard(cloneOf(origin), 2, 2, env);
    // c runs in shard 1 once a (shard 1) and b (shard 2) are on origin: kill shard 1 there.
    await waitFor(join(scratch, 'slow-started'));
    expect((first as unknown as { exitCode: number | null }).exitCode, 'shard 1 ended before the kill').toBe(null);
    process.kill(first.pid!, 'SIGKILL');
    const killed = await first;
    expect(killed.signal, `${String(killed.stderr)} ${why(killed.stdout)}`).toBe('SIGKILL');
    const again = runShard(clone1, 1, 2, env);
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(join(scratch, 'go'), '');
    const [r1, r2] = await Promise.all([again, two]);
    expect(r1.exitCode, `${String(r1.stderr)} ${why(r1.stdout)}`).toBe(0);
    expect(r2.exitCode, `${String(r2.stderr)} ${why(r2.stdout)}`).toBe(0);
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['a', 'b', 'c', 'd']);
    // a, b and d ran once; c was cut off and ran again.
    const starts = readLines(join(scratch, 'starts')).sort();
    expect(starts.filter((s) => s !== 'c')).toEqual(['a', 'b', 'd']);
  }, 120_000);

  it('a second job of the same shard is refused through the remote, and runs no agent', async () => {
    const tasks = [task('a', '10m'), task('b', '9m')];
    const { origin, scratch } = shardOrigin({ name: 'sf', tasks, agent: agentBody('"$SCRATCH"', 'a') });
    const env = { SCRATCH: scratch };
    const first = runShard(cloneOf(origin), 1, 2, env);
    await waitFor(join(scratch, 'slow-started'));
    // Another clone, as another CI job would be: only the remote can tell.
    const second = await runShard(cloneOf(origin), 1, 2, env);
    expect(second.exitCode).toBe(2);
    expect(String(second.stderr)).toMatch(
      /^swarm run: --shard: shard 1\/2 of the run "sf" is running on .+ \(pid \d+; its last heartbeat on origin \d+s ago\); a second job of the same shard would race it/,
    );
    writeFileSync(join(scratch, 'go'), '');
    const done = await first;
    expect(done.exitCode, why(done.stdout)).toBe(0);
    expect(readLines(join(scratch, 'starts'))).toEqual(['a']);
    expect(landedOnOrigin(origin, INTO)).toEqual(['a']);
  }, 120_000);

  it('stops waiting on another shard after limits.shard_wait with nothing moving, and says why', async () => {
    // shard 1: a (10m) — never run | shard 2: b (9m, needs a), d (1m).
    const tasks = [task('a', '10m'), task('b', '9m', ['a']), task('d', '1m')];
    const { origin, scratch } = shardOrigin({ name: 'sf', tasks, agent: agentBody('"$SCRATCH"'), top: ['limits:', '  shard_wait: 2s'] });
    const began = Date.now();
    const two = await runShard(cloneOf(origin), 2, 2, { SCRATCH: scratch });
    expect(two.exitCode, why(two.stdout)).toBe(1);
    expect(Date.now() - began).toBeLessThan(60_000);
    expect(finalStates(two.stdout).get('b')).toMatchObject({
      to: 'blocked',
      detail: expect.stringMatching(/^blocked: a \(another shard's\) not merged on origin and nothing moved there for 2s \(limits\.shard_wait\)/),
    });
    expect(landedOnOrigin(origin, INTO)).toEqual(['d']);
  }, 120_000);

  it('an agent that pushes to the integration branch on origin itself: no shard takes its commit or builds on it, and both stop saying so', async () => {
    // shard 1: a (10m), c (1m, needs evil) | shard 2: evil (9m, needs a), d (2m).
    const tasks = [task('a', '10m'), task('evil', '9m', ['a']), task('d', '2m'), task('c', '1m', ['evil'])];
    const agent = [
      'if [ "$SWARM_TASK" = evil ]; then',
      '  git fetch -q origin swarm/sf',
      '  c=$(git commit-tree -p FETCH_HEAD -m "not a landing" "FETCH_HEAD^{tree}")',
      '  git push -q origin "$c:refs/heads/swarm/sf" && echo "$c" > "$SCRATCH/pushed"',
      'fi',
      'echo "$SWARM_TASK" > "$SWARM_TASK.txt"',
    ].join('\n');
    const { origin, scratch } = shardOrigin({ name: 'sf', tasks, agent, top: ['limits:', '  shard_wait: 20s'] });
    const env = { SCRATCH: scratch };
    const clones = [cloneOf(origin), cloneOf(origin)];
    const [one, two] = await Promise.all([runShard(clones[0]!, 1, 2, env), runShard(clones[1]!, 2, 2, env)]);
    const forged = readLines(join(scratch, 'pushed'))[0];
    expect(forged, 'the agent could not push').toMatch(/^[0-9a-f]{40}$/);
    for (const r of [one, two]) {
      expect(r.exitCode, `${String(r.stderr)} ${why(r.stdout)}`).toBe(2);
      expect(String(r.stderr)).toContain(`--shard: swarm/sf on origin holds ${forged!.slice(0, 12)}, which no shard of the run "sf" landed`);
    }
    // Nothing was built on it: origin's head is still the forged commit, and neither clone's branch took it.
    expect(git(origin, 'rev-parse', 'swarm/sf')).toBe(forged);
    for (const dir of clones) expect(git(dir, 'log', '--format=%H', 'swarm/sf')).not.toContain(forged);
    // evil and c never landed.
    expect(landedOnOrigin(origin, INTO).sort()).toEqual(['a', 'd']);
  }, 120_000);
});
