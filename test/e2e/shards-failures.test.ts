import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines, type SpecTask } from '../adversary/run-fixture.js';
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
    '[ "$SWARM_TASK" = bad ] && exit 1',
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
    const env = { SCRATCH: scratch };
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
  }, 120_000);

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
    expect(first.exitCode ?? null, 'shard 1 ended before the kill').toBe(null);
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
});
