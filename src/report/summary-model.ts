/**
 * What the job summary, `swarm report --format markdown` and `--format html` show: the
 * run's outcome, each task's row, the failures with the end of their logs, and the
 * timeline of the run's latest invocation. Built in src/cli/run-summary.ts from state.db;
 * the renderers beside this file are pure functions of it.
 */
import type { SwarmEvent } from '../engine/events.js';
import type { TaskState } from '../engine/task-state.js';

export type SummaryOutcome = 'success' | 'failed' | 'cancelled' | 'budget' | 'usage-limit' | 'interrupted' | 'running';

export interface RunSummary {
  readonly run: {
    readonly name: string;
    readonly into: string;
    readonly base: string;
    readonly outcome: SummaryOutcome;
    /** Epoch ms of the latest invocation's start and end (or of its last event). */
    readonly startedAt: number;
    readonly endedAt: number;
    readonly concurrency: number;
    readonly costUsd: number;
    readonly resumed: boolean;
  };
  /** max(critical path of work, all work / concurrency), and wall time over it (see `swarm report`). */
  readonly lowerBound: { readonly ms: number; readonly ratio: number };
  /** The chain of most work along depends_on, in run order. */
  readonly criticalPath: readonly string[];
  /** In the file's order. */
  readonly tasks: readonly SummaryTask[];
}

export interface SummaryTask {
  readonly id: string;
  readonly title?: string;
  readonly state: TaskState;
  readonly attempts: number;
  readonly durationMs?: number;
  readonly costUsd: number;
  readonly detail?: string;
  readonly dependsOn: readonly string[];
  readonly critical: boolean;
  /** What the task did in the latest invocation, in order (none for a task merged before it). */
  readonly segments: readonly Segment[];
  /** The rendered end of its latest attempt's log, for a task that failed or conflicted. */
  readonly tail?: readonly string[];
}

/** A stretch of time a task spent in one state; epoch ms. */
export interface Segment {
  readonly state: TaskState;
  readonly from: number;
  readonly to: number;
}

/** States in which a task waits on swarm (a slot, a lease, the merge queue) rather than works. */
export const WAIT_STATES: ReadonlySet<TaskState> = new Set(['ready', 'waiting', 'queued']);
/** States a timeline draws: waits and work. `pending` (waiting for dependencies) and the ends are not bars. */
export const DRAWN_STATES: ReadonlySet<TaskState> = new Set(['ready', 'waiting', 'starting', 'running', 'checking', 'queued', 'merging', 'resolving']);

/** What each drawn state means, for legends and tooltips. */
export const STATE_LABEL: Readonly<Partial<Record<TaskState, string>>> = {
  ready: 'waits for a slot',
  waiting: 'waits for a lease',
  queued: 'waits for the merge queue',
  starting: 'starting (worktree, setup)',
  running: 'agent',
  checking: 'check',
  merging: 'merging',
  resolving: 'resolving a conflict',
};

/**
 * The drawn stretches of each task, from one invocation's events (the first being its
 * `run started`); consecutive stretches in the same state are joined.
 */
export function segmentsFrom(events: readonly SwarmEvent[], endAt: number): Map<string, Segment[]> {
  const out = new Map<string, Segment[]>();
  const open = new Map<string, { state: TaskState; since: number }>();
  const close = (task: string, at: number) => {
    const o = open.get(task);
    if (o === undefined || !DRAWN_STATES.has(o.state) || at < o.since) return;
    const list = out.get(task) ?? [];
    const last = list[list.length - 1];
    if (last !== undefined && last.state === o.state && last.to === o.since) list[list.length - 1] = { ...last, to: at };
    else list.push({ state: o.state, from: o.since, to: at });
    out.set(task, list);
  };
  for (const e of events) {
    if (e.type === 'run' && e.reason === 'started') {
      for (const t of e.tasks) open.set(t.id, { state: t.state, since: e.at });
    } else if (e.type === 'task') {
      close(e.task, e.at);
      open.set(e.task, { state: e.to, since: e.at });
    }
  }
  for (const task of open.keys()) close(task, endAt);
  return out;
}

/** Tasks that did not merge because of themselves or a dependency: what `failed` lists. */
export function failedTasks(s: RunSummary): SummaryTask[] {
  return s.tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted' || t.state === 'blocked');
}
