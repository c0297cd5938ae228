import { describe, expect, it } from 'vitest';
import type { RecordEntry } from '../../src/engine/ports.js';
import { taskHash } from '../../src/engine/resume.js';
import { RunContext } from '../../src/engine/run-context.js';
import type { ClaimView, FailedRecord, ShardRemotePort } from '../../src/engine/shard-link.js';
import { err, ok } from '../../src/util/result.js';
import { FakeGit, FakeShell, graphOf, MemoryLogs, MemoryStore, makeSpec, makeTask } from './fakes.js';

// ShardLink's judgement of what the remote says of other shards' tasks (engine/shard-link.ts).

// shard 1 runs `mine`; `theirs` (shard 2) is its dependency, `up` (shard 2) depends on `low` (shard 1).
const spec = makeSpec([
  makeTask('theirs'),
  makeTask('mine', { dependsOn: ['theirs'] }),
  makeTask('low'),
  makeTask('up', { dependsOn: ['low'] }),
  makeTask('top', { dependsOn: ['up'] }),
]);
const HASH = taskHash(spec, spec.tasks[0]!);
/** When each rig's job starts (its clock). */
const START = 1_000_000;

interface Remote {
  head?: string;
  pushes: { sha: string; expected?: string }[];
  refuse?: boolean;
  heads: string[];
}

function rig(
  o: {
    failed?: Map<string, FailedRecord>;
    claims?: Map<string, ClaimView>;
    record?: RecordEntry[];
    waitMs?: number;
    landings?: { sha: string; entry?: RecordEntry }[];
    ancestors?: [string, string][];
    strategy?: 'merge' | 'rebase';
  } = {},
) {
  let now = START;
  const clock = { now: () => now };
  const git = new FakeGit();
  const remote: Remote = { pushes: [], heads: [] };
  const advanced: { to: string; expected: string }[] = [];
  const ancestry = new Set((o.ancestors ?? []).map(([a, d]) => `${a}>${d}`));
  Object.assign(git, {
    readRecord: async () => o.record ?? [],
    contains: async (a: string, d: string) => a === d || ancestry.has(`${a}>${d}`),
    landingsBetween: async () => o.landings ?? [],
    advanceIntegration: async (x: { to: string; expected: string }) => {
      advanced.push(x);
      return true;
    },
  });
  const port: ShardRemotePort = {
    remote: 'origin',
    label: '1/2',
    fetchHead: async () => ok(remote.head),
    pushHead: async (sha, expected) => {
      remote.pushes.push({ sha, ...(expected === undefined ? {} : { expected }) });
      if (remote.refuse) return err('! [rejected] (stale info)');
      remote.head = sha;
      return ok(undefined);
    },
    failedRecords: async () => o.failed ?? new Map(),
    claims: async () => o.claims ?? new Map(),
  };
  const withLimits = o.waitMs === undefined ? spec : { ...spec, limits: { maxWaitMs: 0, shardWaitMs: o.waitMs } };
  const withWait = o.strategy === undefined ? withLimits : { ...withLimits, merge: { ...withLimits.merge, strategy: o.strategy } };
  const store = new MemoryStore();
  const ctx = new RunContext({
    spec: withWait,
    graph: graphOf(withWait),
    store,
    git,
    shell: new FakeShell(),
    agents: new Map(),
    clock,
    concurrency: 1,
    logs: new MemoryLogs(),
    selected: new Set(['mine', 'low', 'top']),
    shard: { port, shardOf: (t) => (['mine', 'low', 'top'].includes(t) ? '1/2' : '2/2'), graceMs: 30_000, onHead: (h) => remote.heads.push(h) },
  });
  for (const t of withWait.tasks) ctx.live.set(t.id, { state: 'pending', attempt: 0, tries: 0, conflictRounds: 0, agentMs: 0, costUsd: 0, turns: 0 });
  ctx.head = 'h0';
  return { ctx, link: ctx.shard!, advance: (ms: number) => (now += ms), remote, advanced, store };
}

const failed = (at: number, hash = HASH): Map<string, FailedRecord> => new Map([['theirs', { hash, state: 'failed', detail: 'it broke\nmore', at }]]);

describe('ShardLink', () => {
  it('knows which tasks of other shards this one waits on', () => {
    const { link } = rig();
    expect([...link.foreign].sort()).toEqual(['theirs', 'up']);
    expect(link.waiters().sort()).toEqual(['mine', 'top']);
  });

  it('takes a task of another shard as merged when the record on the branch lands it with this definition', async () => {
    const landed: RecordEntry = { landed: 'c'.repeat(40), run: 'test', task: 'theirs', hash: HASH, commit: 'd'.repeat(40), shard: '2/2' };
    const { ctx, link } = rig({ record: [landed] });
    expect(await link.applyRemote()).toBe(true);
    expect(ctx.state('theirs')).toBe('merged');
    expect(link.waiters()).toEqual(['top']);
    // Landed with another definition: not this file's task, still awaited.
    const other = rig({ record: [{ ...landed, hash: 'f'.repeat(16) }] });
    expect(await other.link.applyRemote()).toBe(false);
    expect(other.ctx.state('theirs')).toBe('pending');
  });

  it('finds a task of its own already landed with this definition (by another job of its shard), and only then', async () => {
    const mine = taskHash(spec, spec.tasks[1]!);
    const entry = (hash: string): RecordEntry => ({ landed: 'e'.repeat(40), run: 'test', task: 'mine', hash, commit: 'd'.repeat(40), shard: '1/2' });
    expect(await rig({ record: [entry(mine)] }).link.landedAlready('mine')).toBe('e'.repeat(40));
    expect(await rig({ record: [entry('f'.repeat(16))] }).link.landedAlready('mine')).toBeUndefined();
    expect(await rig({ record: [] }).link.landedAlready('mine')).toBeUndefined();
  });

  it('honours a failed record written during this job at once', async () => {
    const { ctx, link } = rig({ failed: failed(START + 5_000), claims: new Map([['2/2', { state: 'running', started: START - 1_000 }]]) });
    expect(await link.applyRemote()).toBe(true);
    expect(ctx.state('theirs')).toBe('failed');
    expect(ctx.live.get('theirs')!.state).toBe('failed');
  });

  it('ignores a failed record of another definition', async () => {
    const { ctx, link } = rig({ failed: failed(START + 5_000, 'f'.repeat(16)) });
    await link.applyRemote();
    expect(ctx.state('theirs')).toBe('pending');
  });

  it('waits out a grace for a record older than this job (its shard may be re-running), then honours it', async () => {
    const { ctx, link, advance } = rig({ failed: failed(START - 60_000), claims: new Map([['2/2', { state: 'failed', started: START - 120_000 }]]) });
    await link.applyRemote();
    expect(ctx.state('theirs')).toBe('pending');
    advance(29_000);
    await link.applyRemote();
    expect(ctx.state('theirs')).toBe('pending');
    advance(1_000);
    await link.applyRemote();
    expect(ctx.state('theirs')).toBe('failed');
  });

  it('never honours a record older than the job its shard runs now', async () => {
    const { ctx, link, advance } = rig({ failed: failed(START - 60_000), claims: new Map([['2/2', { state: 'running', started: START - 10_000 }]]) });
    advance(120_000);
    await link.applyRemote();
    expect(ctx.state('theirs')).toBe('pending');
  });

  it('blocks a task of another shard whose dependency failed here, and so what waits on it', () => {
    const { ctx, link } = rig();
    ctx.live.get('low')!.state = 'failed';
    expect(link.blockForeign()).toBe(true);
    expect(ctx.state('up')).toBe('blocked');
    expect(link.waiters()).toEqual(['mine']);
  });

  it('stops waiting after limits.shard_wait of quiet while idle, not while busy', () => {
    const { link, advance } = rig({ waitMs: 10_000 });
    const poll = () => undefined;
    expect(link.tick(true, poll, () => undefined)).toEqual([]);
    advance(9_000);
    expect(link.tick(true, poll, () => undefined)).toEqual([]);
    // Busy for a moment: the clock starts again.
    expect(link.tick(false, poll, () => undefined)).toEqual([]);
    advance(9_999);
    expect(link.tick(true, poll, () => undefined)).toEqual([]);
    advance(1);
    expect(link.tick(true, poll, () => undefined).sort()).toEqual(['mine', 'top']);
    expect(link.expiredDetail('mine')).toBe(
      "blocked: theirs (another shard's) not merged on origin and nothing moved there for 10s (limits.shard_wait); run this shard again once it has merged",
    );
  });

  describe('the integration branch against the remote', () => {
    const landing = (sha: string, task = 'theirs', shard = '2/2'): { sha: string; entry: RecordEntry } => ({
      sha,
      entry: { landed: sha, run: 'test', task, hash: HASH, commit: 'c'.repeat(40), shard },
    });

    it('stays where it is when the remote has nothing new (absent, the same, or behind)', async () => {
      const r = rig({ ancestors: [['h-1', 'h0']] });
      expect(await r.link.syncHead()).toEqual({ kind: 'same' });
      r.remote.head = 'h0';
      expect(await r.link.syncHead()).toEqual({ kind: 'same' });
      r.remote.head = 'h-1';
      expect(await r.link.syncHead()).toEqual({ kind: 'same' });
      expect(r.advanced).toEqual([]);
      expect(r.ctx.head).toBe('h0');
    });

    it("moves forward to the remote's head when what it gained are shards' landings, and pushes over it next", async () => {
      const r = rig({ ancestors: [['h0', 'h2']], landings: [landing('h1'), landing('h2', 'up')] });
      r.store.runs.set('test', { name: 'test' } as never);
      r.remote.head = 'h2';
      expect(await r.link.syncHead()).toEqual({ kind: 'moved', head: 'h2' });
      expect(r.advanced).toEqual([{ run: 'test', into: spec.into, to: 'h2', expected: 'h0' }]);
      expect(r.ctx.head).toBe('h2');
      expect(r.remote.heads).toEqual(['h2']);
      expect((await r.link.push('m1')).ok).toBe(true);
      expect(r.remote.pushes).toEqual([{ sha: 'm1', expected: 'h2' }]);
      expect((await r.link.push('m2')).ok).toBe(true);
      expect(r.remote.pushes[1]).toEqual({ sha: 'm2', expected: 'm1' });
      expect(r.remote.heads).toEqual(['h2', 'm1', 'm2']);
      // Refused: the expected value stays what the remote was last seen at.
      r.remote.refuse = true;
      expect((await r.link.push('m3')).ok).toBe(false);
      expect(r.remote.heads).toEqual(['h2', 'm1', 'm2']);
    });

    it('refuses a diverged remote, and a commit no shard landed (or one of no task of this file, or with no shard)', async () => {
      const diverged = rig();
      diverged.remote.head = 'x';
      expect(await diverged.link.syncHead()).toMatchObject({ kind: 'diverged', message: expect.stringMatching(/have diverged/) });
      // This branch holds a landing of its own already.
      const own = [landing('h0', 'low', '1/2').entry];
      for (const bad of [{ sha: 'h1' }, landing('h1', 'nobody'), { sha: 'h1', entry: { ...landing('h1').entry, shard: undefined } }]) {
        const r = rig({ ancestors: [['h0', 'h1']], landings: [bad as { sha: string; entry?: RecordEntry }], record: own });
        r.remote.head = 'h1';
        expect(await r.link.syncHead()).toMatchObject({
          kind: 'diverged',
          message: expect.stringMatching(/^--shard: .* holds h1, which no shard of the run "test" landed/),
        });
        expect(r.advanced).toEqual([]);
        expect(r.ctx.head).toBe('h0');
      }
      // A moved base merged in by a shard is a landing too.
      const base = rig({ ancestors: [['h0', 'h1']], landings: [{ sha: 'h1', entry: { landed: 'h1', run: 'test', base: 'b'.repeat(40) } }] });
      base.remote.head = 'h1';
      expect(await base.link.syncHead()).toEqual({ kind: 'moved', head: 'h1' });
    });

    it('with strategy rebase, takes untrailed commits only when a landing follows them', async () => {
      const ok1 = rig({ strategy: 'rebase', ancestors: [['h0', 'h2']], landings: [{ sha: 'h1' }, landing('h2')] });
      ok1.remote.head = 'h2';
      expect(await ok1.link.syncHead()).toEqual({ kind: 'moved', head: 'h2' });
      const bad = rig({ strategy: 'rebase', ancestors: [['h0', 'h2']], landings: [landing('h1'), { sha: 'h2' }] });
      bad.remote.head = 'h2';
      expect(await bad.link.syncHead()).toMatchObject({ kind: 'diverged' });
      const merge = rig({ ancestors: [['h0', 'h2']], landings: [{ sha: 'h1' }, landing('h2')], record: [landing('h0', 'low', '1/2').entry] });
      merge.remote.head = 'h2';
      expect(await merge.link.syncHead()).toMatchObject({ kind: 'diverged' });
    });

    it("takes the later commits of main a first job's branch starts with, only while its own branch holds no landing", async () => {
      const bare = rig({ ancestors: [['h0', 'h2']], landings: [{ sha: 'm1' }, { sha: 'm2' }, landing('h2')] });
      bare.remote.head = 'h2';
      expect(await bare.link.syncHead()).toEqual({ kind: 'moved', head: 'h2' });
      // Only at the start: an untrailed commit after a landing is still refused.
      const after = rig({ ancestors: [['h0', 'h3']], landings: [{ sha: 'm1' }, landing('h2'), { sha: 'x3' }] });
      after.remote.head = 'h3';
      expect(await after.link.syncHead()).toMatchObject({ kind: 'diverged', message: expect.stringMatching(/holds x3,/) });
      const own = rig({ ancestors: [['h0', 'h2']], landings: [{ sha: 'm1' }, landing('h2')], record: [landing('h0', 'low', '1/2').entry] });
      own.remote.head = 'h2';
      expect(await own.link.syncHead()).toMatchObject({ kind: 'diverged', message: expect.stringMatching(/holds m1,/) });
    });

    it('polls once at a time, backs off while nothing moves, and tells when something did', async () => {
      const r = rig();
      const polls: (() => Promise<void>)[] = [];
      let changed = 0;
      const tick = () =>
        r.link.tick(
          true,
          (work) => polls.push(work),
          () => changed++,
        );
      tick();
      tick();
      expect(polls).toHaveLength(1);
      await polls[0]!();
      // Nothing moved: the next look waits (at least 2 s x 2, jittered down to 0.75 of it).
      tick();
      expect(polls).toHaveLength(1);
      r.advance(2_900);
      tick();
      expect(polls).toHaveLength(1);
      r.advance(5_000);
      tick();
      expect(polls).toHaveLength(2);
      // theirs lands on the remote: the dependent may go.
      Object.assign(r.ctx.o.git, { readRecord: async () => [landing('h1').entry] });
      await polls[1]!();
      expect(changed).toBe(1);
      expect(r.ctx.state('theirs')).toBe('merged');
    });
  });
});
