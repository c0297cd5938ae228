import type { SwarmEvent } from '../engine/events.js';
import type { TaskState } from '../engine/task-state.js';

/** What the TUI knows about one task; every field is a plain value for pure components. */
export interface TaskView {
  readonly id: string;
  readonly title: string;
  readonly dependsOn: readonly string[];
  readonly files: readonly string[];
  readonly state: TaskState;
  readonly attempt: number;
  /** When the task first left `ready` in this run (ms), for its elapsed time. */
  readonly startedAt: number | undefined;
  /** When it reached a terminal state. */
  readonly endedAt: number | undefined;
  /** Agent turns over every finished attempt (Claude reports them when an attempt ends). */
  readonly turns: number | undefined;
  readonly costUsd: number;
  /** The agent's current action, e.g. `Edit src/auth/login.ts`, or what the task waits on. */
  readonly action: string | undefined;
  /** Why the task failed, was blocked or is waiting. */
  readonly reason: string | undefined;
  /** Tool calls Claude Code refused its agent (each one is in the log with the allowed_tools hint). */
  readonly denied: number;
  /** The newest lines of its log (agent output, tools, checks), oldest first. */
  readonly log: readonly string[];
  /** How many log lines were ever written, including those that fell out of `log`. */
  readonly logTotal: number;
}

export interface MergeEntry {
  readonly task: string;
  readonly merging: boolean;
}

export interface LeaseView {
  readonly task: string;
  readonly globs: readonly string[];
  readonly token: number;
}

export interface RateLimitView {
  readonly task: string;
  readonly error: string;
  readonly retryAttempt: number;
  /** When the announced retry happens (ms); the notice shows until then. */
  readonly until: number;
}

/** The account's usage limit is reached: the run waits for the reset, or stopped on it. */
export interface UsageView {
  /** When the limit resets (ms), if known. */
  readonly resetsAt?: number;
  /** Waiting: agents start again at this time (ms); the header counts down to it. */
  readonly resumeAt?: number;
  /** Stopped: what to do. */
  readonly message?: string;
}

export interface LimitView {
  /** Agents allowed at once right now (lowered after rate limits). */
  readonly concurrency: number;
  /** The configured concurrency. */
  readonly max: number;
}

export interface NoteView {
  readonly level: 'info' | 'warning';
  readonly message: string;
  readonly at: number;
}

export type Outcome = Extract<SwarmEvent, { type: 'run'; reason: 'finished' }>['outcome'];

export interface FinishedView {
  readonly outcome: Outcome;
  readonly merged: number;
  readonly total: number;
  readonly costUsd: number;
  readonly durationMs: number;
}

/** One immutable picture of the run, as the store hands it to React. */
export interface RunView {
  readonly name: string;
  readonly into: string;
  readonly startedAt: number | undefined;
  readonly resumed: boolean;
  /** The clock when this snapshot was taken; components never read the clock themselves. */
  readonly now: number;
  /** Spinner frame counter, advanced by the reporter's ticker. */
  readonly frame: number;
  /** In the file's order. */
  readonly tasks: readonly TaskView[];
  readonly mergeQueue: readonly MergeEntry[];
  readonly leases: readonly LeaseView[];
  readonly limit: LimitView;
  readonly rateLimit: RateLimitView | undefined;
  readonly usage: UsageView | undefined;
  readonly costUsd: number;
  /** Set once the engine announced it is stopping. */
  readonly stopping: { readonly force: boolean } | undefined;
  readonly notes: readonly NoteView[];
  readonly finished: FinishedView | undefined;
  /** The reporter is closing: the app shows its final frame and summary. */
  readonly closed: boolean;
}
