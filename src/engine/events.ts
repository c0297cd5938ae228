import type { TaskState } from './task-state.js';

/**
 * The one contract between the engine and everything that watches it: the TUI, the plain
 * and JSON reporters, and the event rows in state.db are all fed from this union.
 * Every event carries the run name and a wall-clock time in ms.
 */
export type SwarmEvent =
  | RunEvent
  | TaskEvent
  | AgentEvent
  | CheckEvent
  | LeaseEvent
  | MergeEvent
  | LimitEvent
  | UsageEvent
  | LogEvent
  | MessageEvent
  | ControlEvent;

interface Base {
  readonly run: string;
  readonly at: number;
}

export interface TaskInfo {
  readonly id: string;
  readonly title: string;
  readonly dependsOn: readonly string[];
  readonly files: readonly string[];
  readonly state: TaskState;
}

export type RunEvent =
  /** The run began (or resumed); lists every task with its starting state. */
  | (Base & {
      readonly type: 'run';
      readonly reason: 'started';
      readonly into: string;
      readonly base: string;
      /** Where the integration branch is as the run starts: what the first tasks start from (differs from `base` when it already holds work). */
      readonly head?: string;
      readonly concurrency: number;
      readonly resumed: boolean;
      readonly tasks: readonly TaskInfo[];
    })
  /** The user asked to stop; no new task starts. */
  | (Base & { readonly type: 'run'; readonly reason: 'stopping'; readonly force: boolean })
  /** The run ended. `outcome` decides the exit code. */
  | (Base & {
      readonly type: 'run';
      readonly reason: 'finished';
      /** `usage-limit`: stopped because the account's usage limit is reached (resumable; exit 75). */
      readonly outcome: 'success' | 'failed' | 'cancelled' | 'budget' | 'usage-limit';
      readonly merged: number;
      readonly total: number;
      readonly costUsd: number;
      readonly durationMs: number;
    });

/** A task moved between states; `detail` says why for failures and waits. */
export type TaskEvent = Base & {
  readonly type: 'task';
  readonly reason: 'state';
  readonly task: string;
  readonly from: TaskState;
  readonly to: TaskState;
  readonly attempt: number;
  readonly detail?: string;
};

export type AgentEvent = Base & { readonly type: 'agent'; readonly task: string; readonly attempt: number } & (
    | /** The agent process started. */ { readonly reason: 'spawned'; readonly pid: number; readonly argv: readonly string[] }
    | /** Claude announced its session id (used to resume). */ { readonly reason: 'session'; readonly sessionId: string }
    | /** The agent's current action, e.g. `Edit src/auth/login.ts`. */ {
        readonly reason: 'tool';
        readonly tool: string;
        readonly summary: string;
      }
    | /** Text the agent said, or a line a command agent printed. */ { readonly reason: 'output'; readonly text: string }
    | /** The model API was rate-limited or overloaded; the agent is retrying. */ {
        readonly reason: 'api-retry';
        readonly retryAttempt: number;
        readonly delayMs: number;
        readonly error: string;
      }
    | /**
     * Claude Code refused a tool call (not allowed by `allowed_tools` in its permission mode);
     * `suggestion` is the `allowed_tools` entry that would allow it, e.g. `Bash(npm test:*)`.
     */ {
        readonly reason: 'denied';
        readonly tool: string;
        readonly summary: string;
        readonly suggestion: string;
      }
    | /** The agent finished. */ {
        readonly reason: 'exited';
        readonly ok: boolean;
        /** swarm stopped it (the run is stopping, or its lease was lost): not a failure of the agent's. */
        readonly stopped?: true;
        readonly exitCode: number | null;
        readonly signal: string | null;
        readonly costUsd?: number;
        readonly turns?: number;
        readonly message?: string;
      }
  );

export type CheckEvent = Base & {
  readonly type: 'check';
  readonly task: string;
  readonly attempt: number;
  /** `task` is the task's check in its worktree; `merge` is merge.check on the integration branch. */
  readonly scope: 'setup' | 'task' | 'merge';
  readonly command: string;
} & ({ readonly reason: 'started' } | { readonly reason: 'passed' | 'failed'; readonly exitCode: number | null; readonly tail: string });

export type LeaseEvent = Base & { readonly type: 'lease'; readonly task: string } & (
    | { readonly reason: 'acquired' | 'released'; readonly token: number; readonly globs: readonly string[] }
    | /** The task's files are held by someone else. */ { readonly reason: 'waiting'; readonly heldBy: string }
    | /**
     * A write or commit outside the lease (enforce: warn records, block refuses). `symlink`:
     * a committed symlink pointing outside the repository (`path -> target`); `tamper`: the
     * agent, unsandboxed, changed what no agent may (`path` says what: `.git/config changed`);
     * `merge`: a commit made on the task branch after its audit, not merged (`<sha> <subject>`).
     */ {
        readonly reason: 'violation';
        readonly path: string;
        readonly where: 'hook' | 'pre-commit' | 'audit' | 'symlink' | 'tamper' | 'merge';
        readonly blocked: boolean;
      }
  );

export type MergeEvent = Base & { readonly type: 'merge'; readonly task: string } & (
    | { readonly reason: 'queued' | 'started' }
    | /** `empty`: the task changed nothing (allow_empty), so nothing new landed. */ {
        readonly reason: 'merged';
        readonly commit: string;
        readonly empty?: true;
      }
    | { readonly reason: 'conflict'; readonly files: readonly string[] }
    | /** merge.check failed; the merge was undone. */ { readonly reason: 'undone'; readonly detail: string }
  );

/** The number of agents started at once changed because of rate limits. */
export type LimitEvent = Base & {
  readonly type: 'limit';
  readonly reason: 'lowered' | 'raised';
  readonly concurrency: number;
  readonly max: number;
};

/**
 * The account's usage limit is reached (see engine/usage-limit.ts). `waiting`: no agent
 * starts before `resumeAt` (the reset, `resetsAt`, and a little); `stopped`: the reset is
 * further than `limits.max_wait` (or unknown), so the run stops, resumable, and `message`
 * says when to run again; `reset`: the wait is over, agents go on. Times in ms since the epoch.
 */
export type UsageEvent = Base & { readonly type: 'usage' } & (
    | { readonly reason: 'waiting'; readonly task: string; readonly resetsAt: number; readonly resumeAt: number }
    | { readonly reason: 'stopped'; readonly task: string; readonly resetsAt?: number; readonly message: string }
    | { readonly reason: 'reset' }
  );

/** Free-form notes for the user (dirty checkout, resume summary, ...). */
export type LogEvent = Base & { readonly type: 'log'; readonly reason: 'info' | 'warning'; readonly message: string };

/**
 * Messages between people and agents of a live run (`swarm msg`, `swarm note`). `task` is
 * the task the message is to (for a note: the task that left it). `from` is a task id, or
 * a person's name with `person: true`.
 */
export type MessageEvent = Base & { readonly type: 'message'; readonly task: string; readonly id: number } & (
    | /** A message to a running (or queued) task's agent was stored; it reaches the agent at its next tool call or its next prompt. */ {
        readonly reason: 'sent';
        readonly from: string;
        readonly person?: true;
        readonly text: string;
      }
    | /** The agent has it: `hook` at a tool call (claude), `prompt` in its next attempt's prompt. */ {
        readonly reason: 'delivered';
        readonly how: 'hook' | 'prompt';
      }
    | /** The task's agent left a note for the tasks that depend on it (added to their prompts). */ { readonly reason: 'note'; readonly text: string }
    | /** An agent's message that the runner could not pass on (its task had ended meanwhile). */ {
        readonly reason: 'refused';
        readonly from: string;
        readonly text: string;
        readonly detail: string;
      }
  );

/**
 * `swarm stop TASK` and `swarm retry TASK` from another terminal, and what the runner did
 * about them: `done` false when it refused (the detail says why).
 */
export type ControlEvent = Base & {
  readonly type: 'control';
  readonly reason: 'stop' | 'retry';
  readonly task: string;
  readonly by: string;
  readonly done: boolean;
  readonly detail: string;
};

export type EventListener = (event: SwarmEvent) => void;

/** How reporters word a refused tool call, the same everywhere. */
export function deniedText(e: { readonly summary: string; readonly suggestion: string }): string {
  return `refused by Claude Code: ${e.summary} (allow it with agent.allowed_tools: ${e.suggestion})`;
}

/** How reporters word a message event, the same everywhere. */
export function messageText(e: MessageEvent): string {
  switch (e.reason) {
    case 'sent':
      return `message from ${e.person ? e.from : `task ${e.from}`}: ${e.text}`;
    case 'delivered':
      return `message #${e.id} delivered ${e.how === 'hook' ? 'at a tool call' : 'in the prompt'}`;
    case 'note':
      return `note for dependents: ${e.text}`;
    case 'refused':
      return `message from task ${e.from} not passed on: ${e.detail}`;
  }
}
