import { describe, expect, it } from 'vitest';
import type { RecordEntry } from '../../src/engine/ports.js';
import { taskHash } from '../../src/engine/resume.js';
import { RunContext } from '../../src/engine/run-context.js';
import type { ClaimView, FailedRecord, ShardRemotePort } from '../../src/engine/shard-link.js';
import { ok } from '../../src/util/result.js';
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

function rig(o: { failed?: Map<string, FailedRecord>; claims?: Map<string, ClaimView>; record?: RecordEntry[]; waitMs?: number } = {}) {
  let now = START;
  const clock = { now: () => now };
  const git = new FakeGit();
  Object.assign(git, { readRecord: async () => o.record ?? [] });
  const port: ShardRemotePort = {
    remote: 'origin',
    label: '1/2',
    fetchHead: async () => ok(undefined),
    pushHead: async () => ok(undefined),
    failedRecords: async () => o.failed ?? new Map(),
    claims: async () => o.claims ?? new Map(),
  };
  const withWait = o.waitMs === undefined ? spec : { ...spec, limits: { maxWaitMs: 0, shardWaitMs: o.waitMs } };
  const ctx = new RunContext({
    spec: withWait,
    graph: graphOf(withWait),
    store: new MemoryStore(),
    git,
    shell: new FakeShell(),
    agents: new Map(),
    clock,
    concurrency: 1,
    logs: new MemoryLogs(),
    selected: new Set(['mine', 'low', 'top']),
    shard: { port, shardOf: (t) => (['mine', 'low', 'top'].includes(t) ? '1/2' : '2/2'), graceMs: 30_000 },
  });
  for (const t of withWait.tasks) ctx.live.set(t.id, { state: 'pending', attempt: 0, tries: 0, conflictRounds: 0, agentMs: 0, costUsd: 0, turns: 0 });
  return { ctx, link: ctx.shard!, advance: (ms: number) => (now += ms) };
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
});
