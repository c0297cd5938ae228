import type { RecordEntry, TaskRecord } from './ports.js';

/**
 * The run's record in git. Every commit swarm lands on the integration branch carries
 * trailers (git interpret-trailers format) that say what it is:
 *
 *   Swarm-Run: <run>            on every one
 *   Swarm-Task: <task id>       a task's work (merge commit, squash commit, or the last
 *   Swarm-Task-Hash: <hash>       commit of a rebase): its definition's hash (resume.ts)
 *   Swarm-Commit: <sha>           and the task commit the audit saw
 *   Swarm-Base: <sha>           a moved `base` merged in before the run's tasks
 *   Swarm-Shard: K/N            with --shard: the shard that landed it
 *   Swarm-State: failed|...     only on a failed task's record, off every branch
 *                               (src/git/failed-record.ts)
 *
 * They are read back from the branch's first-parent chain, where only swarm's own messages
 * stand (agents' commits are second parents; a rebase of commits that carry these trailers
 * lands as a squash instead), so a fresh clone rebuilds what state.db would have said.
 */
export const TRAILER = {
  run: 'Swarm-Run',
  task: 'Swarm-Task',
  hash: 'Swarm-Task-Hash',
  commit: 'Swarm-Commit',
  base: 'Swarm-Base',
  shard: 'Swarm-Shard',
  state: 'Swarm-State',
} as const;

export function taskTrailers(run: string, task: string, hash: string, commit: string, shard?: string): string[] {
  const trailers = [`${TRAILER.run}: ${run}`, `${TRAILER.task}: ${task}`, `${TRAILER.hash}: ${hash}`, `${TRAILER.commit}: ${commit}`];
  return shard === undefined ? trailers : [...trailers, `${TRAILER.shard}: ${shard}`];
}

export function baseTrailers(run: string, base: string): string[] {
  return [`${TRAILER.run}: ${run}`, `${TRAILER.base}: ${base}`];
}

/** What the record says of one task: the newest commit that landed it. */
export interface RecordedMerge {
  readonly task: string;
  readonly hash: string;
  /** The integration branch's commit that carries the trailers. */
  readonly landed: string;
  /** The task commit it holds. */
  readonly commit: string;
}

/** The newest landing of each task of `run`, from entries newest first (as `git log` gives them). */
export function recordedMerges(entries: readonly RecordEntry[], run: string): Map<string, RecordedMerge> {
  const out = new Map<string, RecordedMerge>();
  for (const e of entries) {
    if (e.run !== run || e.task === undefined || e.hash === undefined || e.commit === undefined) continue;
    if (!out.has(e.task)) out.set(e.task, { task: e.task, hash: e.hash, landed: e.landed, commit: e.commit });
  }
  return out;
}

/**
 * Folds the record from git into what state.db knows (nothing, in a fresh clone; less, when
 * it is older than the branch). A task the branch shows merged but the store does not is
 * taken as merged with the recorded hash: unchanged, it is skipped; changed since, it runs
 * again (planResume compares the hashes). A task the store has merged keeps its record,
 * unless the branch shows it merged again after that (`mergedAgain`). Returns the tasks
 * taken from git.
 */
export function foldRecord(
  run: string,
  tasks: Map<string, TaskRecord>,
  recorded: ReadonlyMap<string, RecordedMerge>,
  known: ReadonlySet<string>,
  branchOf: (task: string) => string,
  /** Tasks the store has merged at a commit the recorded landing descends from (merged again since). */
  mergedAgain: ReadonlySet<string> = new Set(),
): string[] {
  const taken: string[] = [];
  for (const [id, r] of [...recorded].sort(([a], [b]) => a.localeCompare(b))) {
    if (!known.has(id)) continue;
    const prev = tasks.get(id);
    if (prev?.state === 'merged') {
      // Another runner merged it again since (its definition changed): that landing counts.
      // Not otherwise: a merge that changed nothing leaves no commit, so the store can be newer.
      if (prev.mergedSha === undefined || mergedAgain.has(id)) tasks.set(id, { ...prev, hash: r.hash, mergedSha: r.landed });
      continue;
    }
    // Passed its check when its runner stopped: resume.ts finds its merge on the branch itself.
    if (prev !== undefined && (prev.state === 'queued' || prev.state === 'merging')) continue;
    tasks.set(id, {
      ...(prev ?? { run, task: id, costUsd: 0, turns: 0 }),
      run,
      task: id,
      state: 'merged',
      attempts: Math.max(1, prev?.attempts ?? 0),
      hash: r.hash,
      branch: prev?.branch ?? branchOf(id),
      mergedSha: r.landed,
      mergeBase: undefined,
    });
    taken.push(id);
  }
  return taken;
}
