import type { Spec, TaskSpec } from '../config/spec.js';
import { processStart } from '../util/process-identity.js';
import type { EventListener, SwarmEvent } from './events.js';
import { OutputBudget } from './output-budget.js';
import type { AgentRunner, Clock, Enforcement, GitPort, GraphView, Inbox, Lease, LogSink, RecordEntry, RunStore, ShellPort, TaskPatch } from './ports.js';
import type { PublishPort } from './publish.js';
import type { RecordedMerge } from './record.js';
import type { DependencyResult } from './prompt.js';
import { ShardLink, type ShardOptions } from './shard-link.js';
import type { Peer } from './steer-prompt.js';
import { ACTIVE_STATES, canTransition, type TaskState } from './task-state.js';

export interface EngineOptions {
  readonly spec: Spec;
  readonly graph: GraphView;
  readonly store: RunStore;
  readonly git: GitPort;
  readonly shell: ShellPort;
  readonly agents: ReadonlyMap<string, AgentRunner>;
  readonly clock: Clock;
  /** Most agents at once; the `--concurrency` flag or the file's `concurrency`. */
  readonly concurrency: number;
  /** Where prompts and attempt logs go (`.swarm/logs/<name>`: see `fileLogSink`). */
  readonly logs: LogSink;
  /** The environment agents and checks inherit. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The hook and pre-commit wiring; undefined runs without enforcement (lease.enforce: off). */
  readonly enforcement?: Enforcement;
  /** Only these tasks run (`--only`, with their dependencies). @default all */
  readonly selected?: ReadonlySet<string>;
  readonly keepWorktrees?: boolean;
  /**
   * Which ready task takes a free slot first: the one with the longest remaining critical
   * path (durations learnt or estimated), or plain first-come order (`fifo`, for comparing;
   * the hidden `SWARM_PRIORITY=fifo`).
   * @default 'critical-path'
   */
  readonly priority?: 'critical-path' | 'fifo';
  /** How long without an api_retry before the start limit climbs one step. @default 60s */
  readonly rateLimitRecoveryMs?: number;
  /** How often to look again at leases held by others while a task waits for one. @default 1s */
  readonly leasePollMs?: number;
  readonly pid?: number;
  /** When the runner process started (processStart); by default looked up for this process. */
  readonly pidStart?: string;
  readonly host?: string;
  /**
   * Stops the agent processes a crashed runner (this pid, on this host) left behind, before
   * their worktrees are touched; returns how many it stopped. Given by the composition root,
   * which knows how agents are spawned.
   */
  readonly reapOrphans?: (runnerPid: number) => Promise<number>;
  /**
   * Accept the integration branch where it is now, though swarm did not leave it there
   * (`--accept-branch`: the user moved it on purpose). Otherwise a moved branch stops the run.
   */
  readonly acceptMovedBranch?: boolean;
  /** Messages to and from agents (`swarm msg`, `swarm note`); undefined: agents get none. */
  readonly inbox?: Inbox;
  /** Test-only crash points: called at each named point of a merge (see util/crash-point.ts). */
  readonly crashPoint?: (name: CrashPoint) => void;
  /** Do not rebuild the run from the integration branch's record (`--fresh`). */
  readonly ignoreRecord?: boolean;
  /** `--push`: where merges and unmerged tasks' work go (publish.ts); undefined pushes nothing. */
  readonly publish?: PublishPort;
  /** `--shard K/N`: `selected` is this shard's tasks; the others run elsewhere and meet here at the remote (shard-link.ts). */
  readonly shard?: ShardOptions;
}

/** Where a test can kill the runner in a merge: after each durable step. */
export type CrashPoint = 'merge:prepared' | 'merge:intent' | 'merge:checked' | 'merge:pushed' | 'merge:landed' | 'merge:recorded' | 'push:integration';

/** Per-task facts the engine keeps while it runs; the store has the durable copy. */
export interface Live {
  state: TaskState;
  attempt: number;
  /** Attempts made in this invocation (retries count against the task's `retries`). */
  tries: number;
  lease?: Lease;
  worktree?: string;
  branch?: string;
  startSha?: string;
  /** The diff base for the audit; moves to the integration head after a conflict merge. */
  auditBase?: string;
  /** The task commit the last passing audit saw: exactly what is merged. */
  audited?: string;
  /** The last audit found no file changed from where the task started. */
  empty?: boolean;
  sessionId?: string;
  summary?: string;
  controller?: AbortController;
  conflictRounds: number;
  agentStartedAt?: number;
  agentMs: number;
  /** Totals over every attempt, kept here so no agent's end has to read the store back. */
  costUsd: number;
  turns: number;
  /** Resumed after passing its check: to the merge queue without running the agent again. */
  mergeReady?: boolean;
  /** Its agent was cut off by a crash: the next attempt resumes the claude session, if any. */
  interrupted?: boolean;
  /** Its lease row was deleted, expired or taken over while it worked: it must not merge. */
  leaseLost?: boolean;
  /** `swarm stop TASK`: its agent is stopped (or never starts) and it ends cancelled. */
  stopRequested?: boolean;
}

/** An attempt's abort switch, already thrown when `swarm stop` came before it existed. */
export function newController(live: Live): AbortController {
  const controller = new AbortController();
  if (live.stopRequested) controller.abort();
  return controller;
}

/**
 * What every part of a run shares: the options, each task's live state, the integration
 * head swarm last wrote, and the one way a task changes state and an event goes out.
 * The scheduler, the task runs, the merge queue and recovery each hold this and nothing of
 * one another.
 */
export class RunContext {
  readonly o: EngineOptions;
  readonly spec: Spec;
  readonly tasks: ReadonlyMap<string, TaskSpec>;
  readonly live = new Map<string, Live>();
  readonly selected: ReadonlySet<string>;
  readonly env: Readonly<Record<string, string>>;
  readonly pid: number;
  readonly pidStart: string | undefined;
  readonly host: string;
  readonly output = new OutputBudget();
  /** The integration branch's head as swarm last wrote it: the expected value of every move, and where tasks start. */
  head = '';
  /** No new task starts; agents are being stopped. */
  stopping = false;
  /** Merges are abandoned too. */
  forced = false;
  budgetHit = false;
  costUsd = 0;
  /** Set when the integration branch moved under the run: the run stops and this is its error. */
  fatal: string | undefined;
  /** Why the run stopped when the user did not stop it (a refused login): the detail of the tasks it cancels. */
  stopReason: string | undefined;
  /** The run record read from the integration branch (run-record.ts), newest first. */
  record: readonly RecordEntry[] = [];
  /** Each task's newest landing in that record. */
  recorded: ReadonlyMap<string, RecordedMerge> = new Map();
  /** With --shard: the link to the other shards through the remote. */
  readonly shard: ShardLink | undefined;
  /** Stops the run as the user would (set by the engine to the scheduler's stop). */
  stopRun: (force: boolean) => void = () => undefined;

  /**
   * Something the run cannot go on past (the integration branch moved outside swarm, a push
   * refused): the first such message becomes the run's error (exit 2), it is told, and the run stops.
   */
  stopOnFatal(message: string): void {
    this.fatal ??= message;
    this.log('warning', message);
    this.stopRun(false);
  }
  /** Called after a lease is released: tasks waiting for one may start. */
  onLeaseReleased: () => void = () => undefined;
  readonly #listeners: EventListener[] = [];

  constructor(options: EngineOptions) {
    this.o = options;
    this.spec = options.spec;
    this.tasks = new Map(options.spec.tasks.map((t) => [t.id, t]));
    this.selected = options.selected ?? new Set(this.tasks.keys());
    this.pid = options.pid ?? process.pid;
    this.pidStart = options.pidStart ?? (options.pid === undefined ? processStart(process.pid) : undefined);
    this.host = options.host ?? 'localhost';
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.env ?? process.env)) if (v !== undefined) env[k] = v;
    this.env = env;
    this.shard = options.shard ? new ShardLink(this, options.shard) : undefined;
  }

  get name(): string {
    return this.spec.name;
  }

  on(listener: EventListener): void {
    this.#listeners.push(listener);
  }

  /** This runner's start time, for records that name its pid. */
  runner(): { pidStart?: string } {
    return this.pidStart === undefined ? {} : { pidStart: this.pidStart };
  }

  now(): number {
    return this.o.clock.now();
  }

  state(id: string): TaskState {
    return this.live.get(id)?.state ?? 'pending';
  }

  /** The one way a task changes state: checked, stored with its event in one transaction, then told. */
  transition(id: string, to: TaskState, patch: TaskPatch = {}, detail?: string): void {
    const live = this.live.get(id)!;
    const from = live.state;
    if (!canTransition(from, to)) throw new Error(`bug: task ${id} cannot go from ${from} to ${to}`);
    const event: SwarmEvent = {
      type: 'task',
      reason: 'state',
      task: id,
      from,
      to,
      attempt: live.attempt,
      run: this.name,
      at: this.now(),
      ...(detail === undefined ? {} : { detail }),
    };
    this.o.store.transition(this.name, id, to, detail === undefined ? patch : { ...patch, detail }, event);
    live.state = to;
    this.tell(event);
  }

  /** To state.db and the reporters. */
  emit(event: SwarmEvent): void {
    if (event.type !== 'task') this.o.store.appendEvent(event);
    this.tell(event);
  }

  /** To the reporters only, not to state.db. */
  tell(event: SwarmEvent): void {
    for (const l of this.#listeners) l(event);
  }

  log(reason: 'info' | 'warning', message: string): void {
    this.emit({ type: 'log', reason, message, run: this.name, at: this.now() });
  }

  releaseLease(id: string): void {
    const live = this.live.get(id)!;
    const lease = live.lease;
    if (!lease) return;
    live.lease = undefined;
    this.o.store.release(lease.id, lease.token);
    this.emit({ type: 'lease', reason: 'released', task: id, token: lease.token, globs: lease.globs, run: this.name, at: this.now() });
    this.onLeaseReleased();
  }

  depResults(task: TaskSpec): DependencyResult[] {
    return [...task.dependsOn].sort().map((d) => {
      const t = this.tasks.get(d)!;
      const notes = this.o.inbox?.notes(this.name, d) ?? [];
      return { id: d, title: t.title, files: t.files, summary: this.live.get(d)?.summary, ...(notes.length > 0 ? { notes } : {}) };
    });
  }

  /** The other tasks whose agents work now, for the preamble; undefined when agents cannot message. */
  peers(id: string): Peer[] | undefined {
    if (!this.o.inbox) return undefined;
    const busy = [...this.live].filter(([other, l]) => other !== id && ACTIVE_STATES.has(l.state));
    return busy.map(([other]) => ({ id: other, title: this.tasks.get(other)!.title, files: this.tasks.get(other)!.files }));
  }

  /**
   * Runs a setup, check or merge.check command through the shell port, with its check
   * events and its output in the attempt's log. No colour unless the user asked for it:
   * the output goes into prompts and events.
   */
  async shell(id: string, scope: 'setup' | 'task' | 'merge', command: string, at: { cwd: string; signal: AbortSignal; timeoutMs: number }) {
    const live = this.live.get(id)!;
    const base = { type: 'check' as const, task: id, attempt: live.attempt, scope, command, run: this.name };
    this.emit({ ...base, reason: 'started', at: this.now() });
    const attempt = Math.max(1, live.attempt);
    const stream = scope === 'setup' ? 'setup' : scope === 'merge' ? 'merge-check' : 'check';
    const res = await this.o.shell.run({
      command,
      cwd: at.cwd,
      // merge.check runs on the integration branch: the task's own env is not its.
      env: {
        NO_COLOR: '1',
        FORCE_COLOR: '0',
        ...this.env,
        ...(scope === 'merge' ? {} : this.tasks.get(id)!.env),
        SWARM_TASK: id,
        SWARM_RUN: this.name,
        SWARM_WORKTREE: at.cwd,
      },
      timeoutMs: at.timeoutMs,
      signal: at.signal,
      onLine: (line) => this.o.logs.append(id, attempt, { t: this.now(), stream, line }),
    });
    const passed = res.exitCode === 0;
    this.emit({ ...base, reason: passed ? 'passed' : 'failed', exitCode: res.exitCode, tail: res.output.slice(-2000), at: this.now() });
    return res;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
