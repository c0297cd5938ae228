import { hostname } from 'node:os';
import type { Spec } from '../config/spec.js';
import type { Publisher } from '../engine/publish.js';
import type { ShardOptions } from '../engine/shard-link.js';
import { lostRace, ShardRemote } from '../git/shard-remote.js';
import { buildGraph } from '../graph/index.js';
import { parseShard, planShards } from '../graph/shards.js';
import { processAlive, processStart } from '../util/process-identity.js';
import { err, ok, type Result } from '../util/result.js';

/** How often a shard says on the remote that it still runs. */
const HEARTBEAT_MS = 30_000;
/** A claim not renewed for this long belongs to a dead job: another may take the shard. */
const STALE_MS = 3 * HEARTBEAT_MS;

/**
 * `--shard K/N`: this shard's tasks. The assignment comes from the file alone (no learnt
 * durations: every machine must agree), so it is built from its own graph.
 */
export function shardTasks(
  spec: Spec,
  trackedFiles: readonly string[],
  flag: string,
): Result<{ index: number; count: number; tasks: Set<string>; shardOf: (task: string) => number }, string> {
  const parsed = parseShard('--shard', flag);
  if (!parsed.ok) return parsed;
  const graph = buildGraph(spec, { trackedFiles });
  if (!graph.ok) return err('--shard: the file does not make a valid graph');
  const plan = planShards(graph.value, parsed.value.count);
  const shard = plan.shards[parsed.value.index - 1]!;
  return ok({ ...parsed.value, tasks: new Set(shard.tasks), shardOf: (task) => plan.shardOf(task) });
}

/** A shard's hold on the remote: claimed at the start, kept by heartbeats, released with the run's end state. */
export interface ShardSession {
  readonly options: ShardOptions;
  /** Stops the heartbeats and writes the shard's end state; once (later calls do nothing). */
  end(state: 'finished' | 'failed' | 'cancelled'): Promise<void>;
}

/**
 * Claims shard K on the remote: a second job of the same shard (CI's re-run while the first
 * still runs, a matrix started twice) is refused here, through the remote, not only by the
 * local lock. A claim whose job died goes stale after STALE_MS, or at once on the same host
 * when its process is gone. A heartbeat the remote refuses means another job took the shard
 * over: `onLost` stops this run.
 */
export async function startShard(o: {
  root: string;
  remote: string;
  spec: Spec;
  index: number;
  count: number;
  publisher: Publisher;
  /** The shard (K) of every task of the file. */
  shardOf: (task: string) => number;
  onLost: (message: string) => void;
}): Promise<Result<ShardSession, string>> {
  const port = new ShardRemote({ root: o.root, remote: o.remote, run: o.spec.name, into: o.spec.into, index: o.index, count: o.count });
  const me = { host: hostname(), pid: process.pid, ...optional('pidStart', processStart(process.pid)), startedAt: Date.now(), alive: processAlive };
  const staleMs = Number(process.env.SWARM_SHARD_STALE_MS) || STALE_MS;
  const claimed = await port.claim(me, staleMs, Date.now());
  if (!claimed.ok) return claimed;
  let beat: Promise<unknown> = Promise.resolve();
  const timer = setInterval(
    () => {
      beat = port.heartbeat(me, 'running', Date.now()).then((r) => {
        // Unreachable or vetoed: the next beat tries again (if the claim goes stale meanwhile and
        // another job takes it, that beat is refused as a lost race).
        if (!r.ok && lostRace(r.error))
          o.onLost(`--shard: shard ${port.label}'s claim on ${o.remote} was taken over by another job (${r.error}); this run stops`);
      });
    },
    Math.max(1000, Math.floor(staleMs / 3)),
  );
  timer.unref();
  const pollMs = Number(process.env.SWARM_SHARD_POLL_MS) || undefined;
  let ended = false;
  return ok({
    options: {
      port,
      ...(pollMs ? { pollMs, maxPollMs: pollMs * 4 } : {}),
      onHead: (head) => o.publisher.saw(o.spec.into, head),
      shardOf: (task) => `${o.shardOf(task)}/${o.count}`,
      ...(Number(process.env.SWARM_SHARD_GRACE_MS) >= 0 && process.env.SWARM_SHARD_GRACE_MS ? { graceMs: Number(process.env.SWARM_SHARD_GRACE_MS) } : {}),
    },
    async end(state) {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      await beat;
      await port.heartbeat(me, state, Date.now());
    },
  });
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/** The state a shard's claim ends in, from how its run ended. */
export function shardEndState(result: Result<{ readonly outcome: string }, string>): 'finished' | 'failed' | 'cancelled' {
  if (!result.ok) return 'failed';
  return result.value.outcome === 'success' ? 'finished' : result.value.outcome === 'failed' || result.value.outcome === 'budget' ? 'failed' : 'cancelled';
}
