/**
 * Which shard runs which task, for `swarm run --shard K/N` and `swarm plan --shards N`.
 *
 * N CI jobs run the same file and meet only at the git remote, so every one of them must
 * compute the same assignment without talking to the others. The rules:
 *
 * - The assignment comes from the file alone. Callers build the graph WITHOUT learnt
 *   durations (those live in one machine's `.swarm/state.db`): a task weighs its
 *   `estimate`, else the median of the estimates given, else 1 (`graph.weight(id)`).
 * - Tasks whose globs conflict (`graph.conflicts`: pairs that could run at once with
 *   overlapping globs) are joined into groups, transitively (a x b and b x c put a, b and
 *   c together), and a group always goes to ONE shard. Leases then stay local to one
 *   machine, and exact: no shard ever needs another shard's lease table.
 * - Groups are placed longest first (total weight, descending; ties by the group's
 *   smallest id) onto the least-loaded shard (ties: the lowest index): LPT, within 4/3 of
 *   the best possible makespan for independent work.
 * - Template tasks are ordinary tasks here, so a template's matches spread over shards.
 * - Only sorted lists are read (ids, conflicts), so the result does not depend on the
 *   order of the tasks in the file.
 *
 * Dependencies are not considered: a task whose dependency lands in another shard waits
 * for that merge to reach the remote (the engine's concern).
 */
import { err, ok, type Result } from '../util/result.js';
import type { TaskGraph, WeightUnit } from './task-graph.js';

/** GitHub Actions runs at most 256 jobs from one matrix. */
export const MAX_SHARDS = 256;

export interface Shard {
  /** 1-based. */
  readonly index: number;
  /** Sorted by id. */
  readonly tasks: readonly string[];
  /** The sum of its tasks' weights, in the plan's `unit`. */
  readonly load: number;
}

export interface ShardPlan {
  readonly count: number;
  readonly unit: WeightUnit;
  /** `count` shards, by index; a shard may be empty when there are fewer groups than shards. */
  readonly shards: readonly Shard[];
  /** The 1-based shard that runs this task; throws for an id not in the graph. */
  shardOf(task: string): number;
}

export function planShards(graph: TaskGraph, count: number): ShardPlan {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) throw new Error(`shard count must be an integer in 1..${MAX_SHARDS}, got ${count}`);
  const groups = conflictGroups(graph);
  const weighed = groups.map((tasks) => ({ tasks, load: tasks.reduce((sum, id) => sum + graph.weight(id), 0) }));
  // Each group is sorted and groups are ordered by first id, so `tasks[0]` is the tie-breaker.
  weighed.sort((x, y) => y.load - x.load || (x.tasks[0]! < y.tasks[0]! ? -1 : 1));

  const loads = new Array<number>(count).fill(0);
  const members: string[][] = loads.map(() => []);
  for (const g of weighed) {
    let best = 0;
    for (let k = 1; k < count; k++) if (loads[k]! < loads[best]!) best = k;
    loads[best]! += g.load;
    members[best]!.push(...g.tasks);
  }

  const shardByTask = new Map<string, number>();
  const shards = members.map((tasks, k): Shard => {
    tasks.sort();
    for (const id of tasks) shardByTask.set(id, k + 1);
    return { index: k + 1, tasks, load: loads[k]! };
  });
  return {
    count,
    unit: graph.weightUnit,
    shards,
    shardOf(task) {
      const k = shardByTask.get(task);
      if (k === undefined) throw new Error(`unknown task id: ${task}`);
      return k;
    },
  };
}

/**
 * The tasks that must share a shard: union-find over `graph.conflicts`. Every task is in
 * exactly one group; each group is sorted, and groups come in order of their first id.
 */
export function conflictGroups(graph: TaskGraph): string[][] {
  const index = new Map(graph.ids.map((id, i) => [id, i]));
  const parent = graph.ids.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (const c of graph.conflicts) {
    const a = root(index.get(c.a)!);
    const b = root(index.get(c.b)!);
    // The smaller index becomes the root, so a group's root is its smallest id.
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const byRoot = new Map<number, string[]>();
  // ids are sorted, so each group fills in sorted order and groups appear by first id.
  for (const [i, id] of graph.ids.entries()) {
    const r = root(i);
    const g = byRoot.get(r);
    if (g === undefined) byRoot.set(r, [id]);
    else g.push(id);
  }
  return [...byRoot.values()];
}

/**
 * Parses "K/N" for `--shard` (1 <= K <= N <= 256). The error names the flag and says what
 * was expected, e.g. `--shard: expected K/N with 1 <= K <= N (e.g. 2/4), got "5/4"`.
 */
export function parseShard(flag: string, text: string): Result<{ readonly index: number; readonly count: number }, string> {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m === null ? Number.NaN : Number(m[1]);
  const count = m === null ? Number.NaN : Number(m[2]);
  if (!(index >= 1 && index <= count)) return err(`${flag}: expected K/N with 1 <= K <= N (e.g. 2/4), got "${text}"`);
  if (count > MAX_SHARDS) return err(`${flag}: expected N at most ${MAX_SHARDS} (a GitHub Actions matrix holds at most ${MAX_SHARDS} jobs), got "${text}"`);
  return ok({ index, count });
}
