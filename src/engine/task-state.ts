/**
 * The life of a task in a run. Every change goes through the engine's one `transition`
 * function, which checks it against TRANSITIONS and writes the state and its event row
 * in one SQLite transaction.
 *
 *   pending    waiting for dependencies to merge
 *   ready      dependencies merged; waiting for a slot under the concurrency cap
 *   waiting    ready, but its files are leased by someone else; holds no slot while it waits
 *   starting   lease taken; creating the worktree, running setup
 *   running    the agent is working
 *   checking   the task's check runs in its worktree
 *   queued     finished and checked; waiting for the merge queue
 *   merging    being merged into the integration branch (and merge.check)
 *   resolving  the agent is resolving a merge conflict in its worktree
 *   merged     on the integration branch (terminal)
 *   failed     agent, check, audit or merge.check failed with no retries left (terminal)
 *   conflicted merge conflict with on_conflict: fail, or unresolved (terminal)
 *   blocked    a dependency failed (terminal)
 *   cancelled  the run, or this task (`swarm stop`), was stopped before it finished (resumable)
 *
 * "Terminal" is for the scheduler: only `swarm retry` takes a failed, conflicted or cancelled
 * task back to ready in the live run (and what it blocked back to pending).
 */
export type TaskState =
  | 'pending'
  | 'ready'
  | 'waiting'
  | 'starting'
  | 'running'
  | 'checking'
  | 'queued'
  | 'merging'
  | 'resolving'
  | 'merged'
  | 'failed'
  | 'conflicted'
  | 'blocked'
  | 'cancelled';

export const TASK_STATES: readonly TaskState[] = [
  'pending',
  'ready',
  'waiting',
  'starting',
  'running',
  'checking',
  'queued',
  'merging',
  'resolving',
  'merged',
  'failed',
  'conflicted',
  'blocked',
  'cancelled',
];

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['merged', 'failed', 'conflicted', 'blocked', 'cancelled']);
/** States in which a task holds a lease and counts against the concurrency cap. */
export const ACTIVE_STATES: ReadonlySet<TaskState> = new Set(['starting', 'running', 'checking', 'resolving']);
export const FAILED_STATES: ReadonlySet<TaskState> = new Set(['failed', 'conflicted', 'blocked']);

/**
 * Which states each state may move to: exactly the moves the engine makes. A stop leaves
 * tasks that had not started (pending, ready, waiting) as they were: the next run takes them
 * up. Resumed merged tasks start in `merged`; they do not move there.
 */
export const TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  // pending -> merged | failed: with --shard, a task of another shard seen merged (or recorded failed) on the remote.
  pending: ['ready', 'blocked', 'merged', 'failed'],
  ready: ['waiting', 'starting'],
  waiting: ['starting'],
  // starting -> queued: a resumed task that had passed its check goes straight to the merge queue.
  starting: ['running', 'failed', 'cancelled', 'queued'],
  running: ['checking', 'queued', 'running', 'failed', 'cancelled'],
  checking: ['queued', 'running', 'failed', 'cancelled'],
  // queued -> failed: an unexpected error before its merge began (the scheduler's guard).
  queued: ['merging', 'failed', 'cancelled'],
  merging: ['merged', 'resolving', 'conflicted', 'failed', 'cancelled'],
  // resolving -> running: a resolution the audit refused (or that changed nothing) is retried.
  resolving: ['running', 'checking', 'queued', 'conflicted', 'failed', 'cancelled'],
  merged: [],
  failed: ['ready'],
  conflicted: ['ready'],
  blocked: ['pending'],
  cancelled: ['ready'],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TRANSITIONS[from].includes(to);
}
