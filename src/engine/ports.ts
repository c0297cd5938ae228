/**
 * What the engine needs from the world, as interfaces. The CLI hands it the real
 * SQLite store, git and agent runners; tests hand it fakes.
 */
import type { AgentSpec, MergeStrategy, TaskSpec } from '../config/spec.js';
import type { Result } from '../util/result.js';
import type { AgentEvent, SwarmEvent } from './events.js';
import type { TaskState } from './task-state.js';

// ---------------------------------------------------------------------------- leases

export interface LeaseRequest {
  /** `run/task` for a task of a run, or a person's or tool's name. */
  readonly holder: string;
  readonly run?: string;
  readonly task?: string;
  readonly globs: readonly string[];
  readonly pid: number;
  /** When that process started (see processStart); looked up by the store when not given. */
  readonly pidStart?: string;
  readonly host: string;
  readonly ttlMs: number;
  readonly reason?: string;
}

export interface Lease {
  readonly id: number;
  readonly holder: string;
  readonly run?: string;
  readonly task?: string;
  readonly globs: readonly string[];
  readonly pid: number;
  /** When that process started: a later process that reuses the pid is not the holder. */
  readonly pidStart?: string;
  readonly host: string;
  readonly acquiredAt: number;
  readonly renewedAt: number;
  readonly expiresAt: number;
  readonly reason?: string;
  /** Fencing token; strictly increasing across all leases of the database. */
  readonly token: number;
}

export type AcquireResult = { readonly ok: true; readonly lease: Lease } | { readonly ok: false; readonly heldBy: Lease };

export interface LeaseStore {
  /** In one BEGIN IMMEDIATE: take over dead or expired conflicting leases, then grant or refuse. */
  acquire(req: LeaseRequest): AcquireResult;
  /** Extends the lease; false when it is gone or its token is no longer current. */
  renew(id: number, token: number, ttlMs: number): boolean;
  release(id: number, token: number): void;
  /** Live leases (not expired, pid alive on this host). */
  list(): Lease[];
  isCurrent(id: number, token: number): boolean;
}

// ---------------------------------------------------------------------------- runs

export type RunStatus = 'running' | 'finished' | 'failed' | 'cancelled';

export interface RunRecord {
  readonly name: string;
  readonly file: string;
  readonly into: string;
  readonly baseSha: string;
  readonly status: RunStatus;
  readonly pid: number;
  /** When the runner process started: a later process that reuses the pid is not the runner. */
  readonly pidStart?: string;
  readonly host: string;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly costUsd: number;
  /**
   * The integration branch's head as swarm last wrote it (created it, or landed a merge).
   * Undefined for runs recorded before swarm kept it.
   */
  readonly headSha?: string;
}

/** The process that holds a run (see `RunStore.claimRunner`). */
export interface RunnerClaim {
  readonly pid: number;
  readonly pidStart?: string;
  readonly host: string;
  readonly startedAt: number;
}

export interface TaskRecord {
  readonly run: string;
  readonly task: string;
  readonly state: TaskState;
  readonly attempts: number;
  /** Hash of the task's definition (prompt, files, agent settings, dependencies). */
  readonly hash: string;
  readonly branch?: string;
  readonly worktree?: string;
  readonly startSha?: string;
  readonly mergedSha?: string;
  /**
   * Set only while a merge is prepared and checked (write-ahead, before the integration
   * branch moves): where the branch was, with `mergedSha` the commit about to land. After a
   * crash, the branch at `mergedSha` means the merge landed (its check had passed); at
   * `mergeBase`, that it did not.
   */
  readonly mergeBase?: string;
  readonly sessionId?: string;
  readonly costUsd: number;
  readonly turns: number;
  readonly detail?: string;
  readonly readyAt?: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
}

export interface AttemptEnd {
  readonly endedAt: number;
  /** `ok`, `exit`, `is-error`, `timeout`, `cancelled`, `spawn`, `session-missing`, `lease-lost`, `tampered`, `check-failed`, `audit`, `empty`. */
  readonly outcome: string;
  readonly exitCode?: number;
  readonly costUsd?: number;
  readonly turns?: number;
  readonly sessionId?: string;
  readonly detail?: string;
}

export type TaskPatch = Partial<Omit<TaskRecord, 'run' | 'task' | 'state'>>;

export interface RunStore extends LeaseStore {
  getRun(name: string): RunRecord | undefined;
  /** Creates the run (or takes over an unfinished one) with its tasks in `pending`. */
  saveRun(run: RunRecord, tasks: readonly { task: string; hash: string; state: TaskState }[]): void;
  setRunStatus(name: string, status: RunStatus, patch?: { finishedAt?: number; costUsd?: number }): void;
  /** Records where swarm left the integration branch: the expected value of its next move. */
  setIntegrationHead(name: string, sha: string): void;
  getTasks(run: string): TaskRecord[];
  /** Writes the task's new state, the patch and the event row in one transaction. */
  transition(run: string, task: string, to: TaskState, patch: TaskPatch, event: SwarmEvent): void;
  updateTask(run: string, task: string, patch: TaskPatch): void;
  appendEvent(event: SwarmEvent): void;
  /** One row per attempt, for `swarm status` and `swarm logs`. */
  startAttempt(run: string, task: string, attempt: number, patch: { startedAt: number; logFile?: string }): void;
  finishAttempt(run: string, task: string, attempt: number, patch: AttemptEnd): void;
  /** Durations learnt from earlier runs, by task id. */
  learntDurations(): Map<string, number>;
  recordDuration(task: string, ms: number): void;
  /** Drops every lease the run's tasks hold (a crashed runner's); returns how many. */
  releaseRunLeases(run: string): number;
  /** Ends the attempts a crashed runner left open as `interrupted`. */
  interruptOpenAttempts(run: string, at: number): { task: string; attempt: number }[];
}

// ---------------------------------------------------------------------------- git

/** One commit of the integration branch's first-parent chain that carries the run record (see record.ts). */
export interface RecordEntry {
  /** The integration branch's commit. */
  readonly landed: string;
  readonly run: string;
  readonly task?: string;
  readonly hash?: string;
  readonly commit?: string;
  readonly base?: string;
  /** `K/N`: the shard that landed it, in a sharded run. */
  readonly shard?: string;
  /** When it landed (its committer date), epoch ms. */
  readonly at?: number;
}

export interface Worktree {
  readonly path: string;
  readonly branch: string;
  /** The commit the task started from (integration head when it started). */
  readonly startSha: string;
}

/** One commit a task branch holds of its own. */
export interface BranchCommit {
  readonly sha: string;
  readonly subject: string;
  /** The paths it added, changed or deleted, sorted. */
  readonly files: readonly string[];
}

export type PreparedMerge =
  | { readonly kind: 'prepared'; readonly commit: string; readonly cwd: string }
  | { readonly kind: 'conflict'; readonly files: readonly string[] }
  | { readonly kind: 'moved'; readonly actual: string };

export interface GitPort {
  /** The repository's main worktree root. */
  readonly root: string;
  resolve(commitish: string): Promise<string>;
  /** Creates the integration branch at `baseSha` if missing; returns its head. */
  ensureIntegrationBranch(into: string, baseSha: string, run?: string): Promise<string>;
  integrationHead(into: string): Promise<string>;
  /** Serialized. On failure, leaves neither a worktree nor a branch behind. Reuses an existing branch (resume). */
  createWorktree(run: string, task: string, from: string): Promise<Result<Worktree, string>>;
  /** Commits whatever is uncommitted; returns the new head, or null when there was nothing. */
  commitAll(worktree: string, message: string, opts?: { env?: Readonly<Record<string, string>>; noVerify?: boolean }): Promise<string | null>;
  /** Paths changed (both names of renames) between `from` and `to` (default: the worktree's HEAD). */
  changedPaths(worktree: string, from: string, to?: string): Promise<string[]>;
  /**
   * Makes the merge of task commit `sha` onto `expected` in the run's merge worktree (HEAD
   * detached there); the integration branch does not move. `moved` when the branch is not
   * at `expected`.
   */
  prepareMerge(opts: {
    run: string;
    into: string;
    sha: string;
    expected: string;
    strategy: MergeStrategy;
    message: string;
    /** `Key: value` lines of the run record, on the commit that lands the work. */
    trailers?: readonly string[];
  }): Promise<PreparedMerge>;
  /** With --shard: each first-parent commit from `from` to `to`, oldest first, with its record entry of `run` if it has one. */
  landingsBetween?(from: string, to: string, run: string): Promise<{ sha: string; entry?: RecordEntry }[]>;
  /** With --shard: the integration branch (and its merge worktree) forward to `to` by compare-and-swap from `expected`; false when it was not there. */
  advanceIntegration?(opts: { run: string; into: string; to: string; expected: string }): Promise<boolean>;
  /** Compare-and-swap of the integration branch from `expected` to `commit`; false when it was not at `expected`. */
  landMerge(opts: { run: string; into: string; commit: string; expected: string; task: string }): Promise<boolean>;
  /** Drops a prepared merge: the merge worktree goes back to the branch's head, clean. */
  abandonMerge(run: string, into: string): Promise<void>;
  /** The commit a worktree's HEAD names; refused (an error value) when an agent pointed HEAD at a branch that is not its task's. */
  headOf(worktree: string): Promise<Result<string, string>>;
  /** Paths touched by the non-merge commits reachable from `tip` and none of `not`, one by one (what a squash would hide). */
  commitPaths(tip: string, not: readonly string[]): Promise<string[]>;
  /** Commits in `from..to`, newest first. */
  commitsBetween(from: string, to: string): Promise<{ sha: string; subject: string }[]>;
  /** Merges the integration head into the task branch; conflict markers are left uncommitted (MERGE_HEAD set) for the agent. Returns conflicted paths. */
  mergeIntegrationIntoTask(worktree: string, into: string, head: string): Promise<{ conflicted: string[] }>;
  /** Undoes an unfinished merge of the integration branch in a task worktree; true when there was one. */
  abortTaskMerge(worktree: string): Promise<boolean>;
  /** Whether `branch`'s work is already in `into` (for resume). */
  isMerged(branch: string, into: string): Promise<boolean>;
  /** Whether commit `sha` is in `into`'s history (a recorded merge commit, once its task branch was cleaned). */
  isAncestor(sha: string, into: string): Promise<boolean>;
  removeWorktree(path: string, opts?: { force?: boolean }): Promise<void>;
  /** The task is merged: park its worktree for reuse (a pool), or remove it. */
  releaseWorktree(path: string): Promise<void>;
  /** Commits on `tip` that `from` lacks (no merges), oldest first, with their files. */
  branchCommits(from: string, tip: string): Promise<BranchCommit[]>;
  /** Renames a task branch (not checked out anywhere) to `to`. */
  renameBranch(branch: string, to: string): Promise<void>;
  /** Deletes a task branch (never the integration branch or the user's current branch). */
  deleteBranch(branch: string): Promise<void>;
  /** The run record on `into`'s first-parent chain, newest first (commits with `Swarm-Run: <run>`). Optional. */
  readRecord?(into: string, run: string): Promise<RecordEntry[]>;
  /** The failed records of `run` among the local refs, by task (src/git/failed-record.ts). Optional. */
  readFailedRecords?(run: string): Promise<ReadonlyMap<string, { readonly hash: string; readonly state: string; readonly parent: string }>>;
  /** Whether `ancestor` is in `descendant`'s history (both commit-ish). Optional. */
  contains?(ancestor: string, descendant: string): Promise<boolean>;
  /** The name `branch` of task `task` of `run` (`swarm-task/<run>/<task>`). Optional. */
  taskBranch?(run: string, task: string): string;
  isDirty(worktree: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------- agents

export interface AgentInput {
  readonly run: string;
  readonly task: TaskSpec;
  readonly agent: AgentSpec;
  readonly attempt: number;
  readonly worktree: string;
  /** The whole prompt: preamble + task prompt (+ check output on a retry). */
  readonly prompt: string;
  /** The same prompt, written to a file (for `{prompt_file}`). */
  readonly promptFile: string;
  /** Claude session to resume on a retry. */
  readonly resumeSession?: string;
  /** Extra environment: the task's env, SWARM_* and the pre-commit guard's GIT_CONFIG_*. */
  readonly env: Readonly<Record<string, string>>;
  /** Claude Code `--settings` JSON carrying our PreToolUse hook; undefined when enforce is off. */
  readonly settingsJson?: string;
  readonly timeoutMs: number;
  /** Where the raw output goes, one JSON object a line. */
  readonly logFile: string;
  readonly signal: AbortSignal;
  readonly onEvent: (event: AgentOutput) => void;
}

/**
 * What a runner reports while the agent works: an agent event without what the engine
 * stamps on it (run, task, attempt, time). `exited` is the engine's own, after the result.
 */
export type AgentOutput = AgentEvent extends infer E ? (E extends { reason: 'exited' } ? never : Omit<E, 'type' | 'run' | 'task' | 'attempt' | 'at'>) : never;

export interface AgentResult {
  readonly ok: boolean;
  /**
   * Why it failed: `exit` (non-zero), `is-error` (claude's result said so), `timeout`,
   * `cancelled`, `spawn`, or `session-missing`: the session given to resume does not exist
   * (another HOME or config dir, `~/.claude/projects` deleted); nothing ran. `tampered` (set
   * by the engine, never retried): it changed what no agent may touch (see `Enforcement.watch`).
   * `auth`: the model API refused the agent's login or key (a 401, no login): every other
   * agent on the same login would fail the same way, so the engine stops the run instead.
   * `usage-limit`: the account's usage limit is reached (until `resetsAt`): not the task's
   * failure; the engine waits for the reset or stops the run (see engine/usage-limit.ts).
   */
  readonly failure?: 'exit' | 'is-error' | 'timeout' | 'cancelled' | 'spawn' | 'session-missing' | 'tampered' | 'auth' | 'usage-limit';
  /** With `usage-limit`: when the limit resets, in ms since the epoch, if the agent said. */
  readonly resetsAt?: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly sessionId?: string;
  readonly costUsd?: number;
  readonly turns?: number;
  /** The final text, or the error. */
  readonly message?: string;
}

export interface AgentRunner {
  readonly kind: AgentSpec['kind'];
  /** Checked before anything starts: e.g. the binary exists. Returns a message naming what is wrong. */
  preflight(agent: AgentSpec, cwd: string): Promise<Result<void, string>>;
  run(input: AgentInput): Promise<AgentResult>;
}

// ---------------------------------------------------------------------------- clock

export interface Clock {
  now(): number;
}

// ---------------------------------------------------------------------------- logs

/** Where an attempt's prompt and output go; the CLI gives files under `.swarm/logs/<run>`, tests may keep them in memory. */
export interface LogSink {
  /** Writes the attempt's prompt; returns the path given to agents as `{prompt_file}`. */
  writePrompt(task: string, attempt: number, prompt: string): string;
  /** Where the agent runner writes the attempt's raw output, one JSON object a line. */
  logFile(task: string, attempt: number): string;
  /** One line of setup, check or merge.check output, into the attempt's log; best effort. */
  append(task: string, attempt: number, entry: object): void;
}

// ---------------------------------------------------------------------------- shell

export interface ShellResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  /** stdout and stderr interleaved, clipped to the last bytes. */
  readonly output: string;
}

/** Runs the user's `setup` and `check` commands (user config, so through `sh -c`). */
export interface ShellPort {
  run(opts: {
    command: string;
    cwd: string;
    env: Readonly<Record<string, string>>;
    timeoutMs: number;
    signal: AbortSignal;
    onLine?: (line: string) => void;
  }): Promise<ShellResult>;
}

/** The enforcement wiring for one agent process: env (pre-commit guard, SWARM_*) and claude --settings. */
export interface Enforcement {
  forTask(opts: { run: string; task: TaskSpec; worktree: string; lease: Lease }): { env: Record<string, string>; settingsJson?: string };
  /** The paths among `paths` that no glob of `globs` matches. */
  audit(paths: readonly string[], globs: readonly string[]): string[];
  /** Symlinks committed in `worktree` since `from` that point outside the repository, as `path -> target`. */
  escapingLinks(worktree: string, from: string, to?: string): Promise<string[]>;
  /** Called before each agent attempt; `after()`, once the agent is gone, says what it did that the runner must know. */
  watch(opts: { run: string; task: TaskSpec; worktree: string }): Promise<{ after(): Promise<AttemptFindings> }>;
}

/** What an agent attempt did that only the enforcement saw. */
export interface AttemptFindings {
  /** Violations the hooks inside the agent's processes recorded (they cannot write state.db). */
  readonly violations: readonly { readonly path: string; readonly where: 'hook' | 'pre-commit'; readonly blocked: boolean; readonly at: number }[];
  /** Things no agent may change that changed while it ran (`.git/config changed`); empty when it ran in the sandbox. */
  readonly tampered: readonly string[];
}

/** A message to a task, as its agent reads it. */
export interface InboxMessage {
  readonly id: number;
  /** `task api`, or a person's name. */
  readonly from: string;
  readonly text: string;
}

/**
 * Messages between people and agents of a live run (see src/cli/steer.ts). The engine asks
 * it for what goes into a prompt; delivery at tool calls and everything sent from outside
 * goes around the engine, through state.db.
 */
export interface Inbox {
  /** The task's messages its agent has not seen: they go into this prompt, and count as delivered. */
  take(run: string, task: string): readonly InboxMessage[];
  /** The notes the task's agent left for the tasks that depend on it. */
  notes(run: string, task: string): readonly string[];
  /** Env (SWARM_*, PATH with `swarm`) and claude `--settings` that let the agent receive and send messages. */
  wiring(run: string, task: string): { env: Record<string, string>; settingsJson?: string };
}

/** What the engine needs of the task graph. */
export interface GraphView {
  readonly ids: readonly string[];
  dependencies(id: string): readonly string[];
  dependents(id: string): readonly string[];
  descendants(id: string): readonly string[];
  /** Longest weighted path from this task to any sink, inclusive: the scheduling priority. */
  remaining(id: string): number;
}
