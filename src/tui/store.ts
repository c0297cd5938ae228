// Over 400 lines: the TUI's one reducer, a case per event kind, so every event the engine
// sends is handled in one place; the view model and formatting live in their own files.
import {
  deniedText,
  messageText,
  type AgentEvent,
  type CheckEvent,
  type LeaseEvent,
  type MergeEvent,
  type RunEvent,
  type SwarmEvent,
  type TaskEvent,
  type TaskInfo,
} from '../engine/events.js';
import type { TaskState } from '../engine/task-state.js';
import { ACTIVE_STATES, TERMINAL_STATES } from '../engine/task-state.js';
import { unreachable } from '../util/result.js';
import { sanitize, toLines } from './format.js';
import { RingBuffer } from './ring-buffer.js';
import type { FinishedView, LeaseView, LimitView, MergeEntry, NoteView, RateLimitView, RunView, TaskView, UsageView } from './view-model.js';
import { violationText } from '../report/violation-text.js';

export interface TuiStoreOptions {
  /** The clock for elapsed times and throttling. @default Date.now */
  readonly now?: () => number;
  /**
   * Most notifications a second. Events come in bursts (a 200-task run can send hundreds a
   * second); listeners hear about them at most this often, coalesced.
   * @default 30
   */
  readonly maxPerSecond?: number;
  /** Log lines kept per task for the tail and the log view. @default 300 */
  readonly logLines?: number;
}

interface MutableTask {
  readonly id: string;
  title: string;
  dependsOn: readonly string[];
  files: readonly string[];
  state: TaskState;
  attempt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  turns: number | undefined;
  costUsd: number;
  action: string | undefined;
  reason: string | undefined;
  /** The last thing that went wrong, for a failure event that gives no detail. */
  lastFailure: string | undefined;
  denied: number;
  log: RingBuffer<string>;
  /** The last snapshot of this task; dropped when it changes, so unchanged tasks are shared. */
  view: TaskView | undefined;
}

const MAX_NOTES = 5;
const MAX_TAIL_LINES_PER_CHECK = 20;
const BUSY_STATES: ReadonlySet<TaskState> = new Set([...ACTIVE_STATES, 'merging']);

/**
 * The run's view model, outside React. The reporter feeds it every event; the app reads it
 * with `useSyncExternalStore`. Applying an event only mutates private state; an immutable
 * snapshot is built when someone asks for it, and listeners are told at most
 * `maxPerSecond` times a second, so a busy run costs a few renders a second, not one per event.
 */
export class TuiStore {
  readonly #now: () => number;
  readonly #interval: number;
  readonly #logLines: number;
  readonly #listeners = new Set<() => void>();

  #name = '';
  #into = '';
  #startedAt: number | undefined;
  #resumed = false;
  #frame = 0;
  #order: string[] = [];
  readonly #tasks = new Map<string, MutableTask>();
  #tasksChanged = true;
  readonly #queue = new Map<string, MergeEntry>();
  readonly #leases = new Map<string, LeaseView>();
  #limit: LimitView = { concurrency: 0, max: 0 };
  #rateLimit: RateLimitView | undefined;
  #usage: UsageView | undefined;
  #costUsd = 0;
  #stopping: { readonly force: boolean } | undefined;
  #notes: NoteView[] = [];
  #finished: FinishedView | undefined;
  #closed = false;

  #snapshot: RunView | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastEmit = -Infinity;
  #lastTickSecond = -1;

  constructor(options: TuiStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#interval = 1000 / Math.max(1, options.maxPerSecond ?? 30);
    this.#logLines = options.logLines ?? 300;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  readonly getSnapshot = (): RunView => {
    this.#snapshot ??= this.#build();
    return this.#snapshot;
  };

  handle(event: SwarmEvent): void {
    this.#apply(event);
    this.#snapshot = undefined;
    // The end of a run must be on screen at once, whatever the throttle says.
    if (event.type === 'run' && event.reason === 'finished') this.flush();
    else this.#schedule();
  }

  /**
   * Advances the spinner and the clock. Listeners hear of it only when something on screen
   * moves: a spinner, or an elapsed time that shows whole seconds.
   */
  tick(): void {
    const second = Math.floor(this.#now() / 1000);
    const spinning = this.#order.some((id) => BUSY_STATES.has(this.#tasks.get(id)!.state));
    if (!spinning && second === this.#lastTickSecond) return;
    this.#lastTickSecond = second;
    this.#frame += 1;
    this.#snapshot = undefined;
    this.#schedule();
  }

  /** Tells listeners now if anything changed since they last heard. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#emit();
  }

  /** The reporter is closing: one last snapshot, sent at once, with `closed` set. */
  close(): void {
    this.#closed = true;
    this.#snapshot = undefined;
    this.flush();
  }

  /** Cancels a pending notification (after close, or when nobody listens any more). */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastEmit + this.#interval - this.#now());
    // Even with no wait, a timer coalesces a synchronous burst of events into one notification.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#emit();
    }, wait);
  }

  #emit(): void {
    this.#lastEmit = this.#now();
    for (const listener of [...this.#listeners]) listener();
  }

  #build(): RunView {
    let tasks: TaskView[] | undefined;
    if (this.#tasksChanged) {
      tasks = this.#order.map((id) => this.#taskView(this.#tasks.get(id)!));
      this.#tasksChanged = false;
    }
    const view: RunView = {
      name: this.#name,
      into: this.#into,
      startedAt: this.#startedAt,
      resumed: this.#resumed,
      now: this.#now(),
      frame: this.#frame,
      tasks: tasks ?? this.#lastTasks,
      mergeQueue: [...this.#queue.values()],
      leases: [...this.#leases.values()],
      limit: this.#limit,
      rateLimit: this.#rateLimit,
      usage: this.#usage,
      costUsd: this.#finished?.costUsd ?? this.#costUsd,
      stopping: this.#stopping,
      notes: this.#notes,
      finished: this.#finished,
      closed: this.#closed,
    };
    this.#lastTasks = view.tasks;
    return view;
  }

  #lastTasks: readonly TaskView[] = [];

  #taskView(task: MutableTask): TaskView {
    task.view ??= {
      id: task.id,
      title: task.title,
      dependsOn: task.dependsOn,
      files: task.files,
      state: task.state,
      attempt: task.attempt,
      startedAt: task.startedAt,
      endedAt: task.endedAt,
      turns: task.turns,
      costUsd: task.costUsd,
      action: task.action,
      reason: task.reason,
      denied: task.denied,
      log: task.log.toArray(),
      logTotal: task.log.total,
    };
    return task.view;
  }

  /** The task an event names, created on the spot if the run's start was missed. */
  #task(id: string): MutableTask {
    let task = this.#tasks.get(id);
    if (task === undefined) {
      task = this.#newTask({ id, title: id, dependsOn: [], files: [], state: 'pending' });
      this.#tasks.set(id, task);
      this.#order.push(id);
    }
    task.view = undefined;
    this.#tasksChanged = true;
    return task;
  }

  #newTask(info: TaskInfo): MutableTask {
    return {
      id: info.id,
      title: sanitize(info.title),
      dependsOn: info.dependsOn,
      files: info.files,
      state: info.state,
      attempt: 0,
      startedAt: undefined,
      endedAt: undefined,
      turns: undefined,
      costUsd: 0,
      action: undefined,
      reason: undefined,
      lastFailure: undefined,
      denied: 0,
      log: new RingBuffer<string>(this.#logLines),
      view: undefined,
    };
  }

  #apply(event: SwarmEvent): void {
    switch (event.type) {
      case 'run':
        return this.#applyRun(event);
      case 'task':
        return this.#applyTask(event);
      case 'agent':
        return this.#applyAgent(event);
      case 'check':
        return this.#applyCheck(event);
      case 'lease':
        return this.#applyLease(event);
      case 'merge':
        return this.#applyMerge(event);
      case 'limit':
        this.#limit = { concurrency: event.concurrency, max: event.max };
        return;
      case 'usage':
        if (event.reason === 'waiting') this.#usage = { resetsAt: event.resetsAt, resumeAt: event.resumeAt };
        else if (event.reason === 'stopped') this.#usage = { ...(event.resetsAt === undefined ? {} : { resetsAt: event.resetsAt }), message: event.message };
        else this.#usage = undefined;
        return;
      case 'log':
        this.#notes = [...this.#notes, { level: event.reason, message: sanitize(event.message), at: event.at }].slice(-MAX_NOTES);
        return;
      case 'message':
        if (this.#tasks.has(event.task)) this.#task(event.task).log.push(`✉ ${sanitize(messageText(event))}`);
        return;
      case 'control': {
        const message = `swarm ${event.reason} ${event.task} (by ${sanitize(event.by)}): ${sanitize(event.detail)}`;
        this.#notes = [...this.#notes, { level: event.done ? ('info' as const) : ('warning' as const), message, at: event.at }].slice(-MAX_NOTES);
        return;
      }
      default:
        return unreachable(event);
    }
  }

  #applyRun(event: RunEvent): void {
    switch (event.reason) {
      case 'started': {
        this.#name = event.run;
        this.#into = event.into;
        this.#startedAt = event.at;
        this.#resumed = event.resumed;
        this.#limit = { concurrency: event.concurrency, max: event.concurrency };
        this.#tasks.clear();
        this.#queue.clear();
        this.#leases.clear();
        this.#order = event.tasks.map((info) => info.id);
        for (const info of event.tasks) this.#tasks.set(info.id, this.#newTask(info));
        this.#tasksChanged = true;
        return;
      }
      case 'stopping':
        this.#stopping = { force: event.force };
        return;
      case 'finished':
        this.#finished = {
          outcome: event.outcome,
          merged: event.merged,
          total: event.total,
          costUsd: event.costUsd,
          durationMs: event.durationMs,
        };
        return;
      default:
        return unreachable(event);
    }
  }

  #applyTask(event: TaskEvent): void {
    const task = this.#task(event.task);
    const { to, detail } = event;
    if (to === 'running' && event.attempt !== task.attempt) task.action = undefined;
    task.state = to;
    task.attempt = event.attempt;
    if (task.startedAt === undefined && (to === 'starting' || to === 'running')) task.startedAt = event.at;
    if (TERMINAL_STATES.has(to)) {
      task.endedAt = event.at;
      task.action = undefined;
      this.#queue.delete(task.id);
    }
    if (to === 'waiting' || (to === 'running' && detail !== undefined)) {
      if (detail !== undefined) task.reason = sanitize(detail);
    } else if (TERMINAL_STATES.has(to)) {
      task.reason = detail === undefined ? (task.lastFailure ?? task.reason) : sanitize(detail);
    } else {
      task.reason = undefined;
    }
    if (to === 'checking' || to === 'queued' || to === 'merging') task.action = undefined;
    const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
    task.log.push(`▸ ${to}${attempt}${detail === undefined ? '' : `: ${sanitize(detail)}`}`);
  }

  #applyAgent(event: AgentEvent): void {
    const task = this.#task(event.task);
    switch (event.reason) {
      case 'spawned':
        task.action = 'agent started';
        task.log.push(`agent started (pid ${event.pid})`);
        return;
      case 'session':
        return;
      case 'tool': {
        const summary = sanitize(event.summary);
        task.action = summary.startsWith(event.tool) ? summary : `${event.tool} ${summary}`.trim();
        task.log.push(`→ ${task.action}`);
        return;
      }
      case 'output': {
        const lines = toLines(event.text);
        for (const line of lines) task.log.push(line);
        // A command agent has no tool events: what it last said is what it is doing.
        const last = lines.findLast((line) => line.trim() !== '');
        if (last !== undefined) task.action = last.trim();
        return;
      }
      case 'api-retry': {
        const error = sanitize(event.error);
        this.#rateLimit = { task: task.id, error, retryAttempt: event.retryAttempt, until: event.at + event.delayMs };
        task.log.push(`${error}; retry ${event.retryAttempt} in ${Math.round(event.delayMs / 1000)}s`);
        return;
      }
      case 'denied':
        task.denied += 1;
        task.log.push(deniedText({ summary: sanitize(event.summary), suggestion: sanitize(event.suggestion) }));
        return;
      case 'exited': {
        if (event.turns !== undefined) task.turns = (task.turns ?? 0) + event.turns;
        if (event.costUsd !== undefined) {
          task.costUsd += event.costUsd;
          this.#costUsd += event.costUsd;
        }
        task.action = event.ok ? 'agent finished' : event.stopped ? 'agent stopped' : 'agent failed';
        const how = event.ok
          ? 'agent finished'
          : event.stopped
            ? 'agent stopped'
            : `agent failed (${event.signal === null ? `exit ${event.exitCode ?? '?'}` : event.signal})`;
        const line = event.message === undefined || event.stopped ? how : `${how}: ${sanitize(event.message)}`;
        if (!event.ok && !event.stopped) task.lastFailure = line;
        task.log.push(line);
        return;
      }
      default:
        return unreachable(event);
    }
  }

  #applyCheck(event: CheckEvent): void {
    const task = this.#task(event.task);
    const label = event.scope === 'setup' ? 'setup' : event.scope === 'merge' ? 'merge check' : 'check';
    const command = sanitize(event.command);
    switch (event.reason) {
      case 'started':
        task.action = `${label}: ${command}`;
        task.log.push(`$ ${command}`);
        return;
      case 'passed':
        task.log.push(`${label} passed`);
        return;
      case 'failed': {
        task.lastFailure = `${label} failed (exit ${event.exitCode ?? '?'}): ${command}`;
        task.log.push(task.lastFailure);
        for (const line of toLines(event.tail).slice(-MAX_TAIL_LINES_PER_CHECK)) task.log.push(`  ${line}`);
        return;
      }
      default:
        return unreachable(event);
    }
  }

  #applyLease(event: LeaseEvent): void {
    const task = this.#task(event.task);
    switch (event.reason) {
      case 'acquired':
        this.#leases.set(task.id, { task: task.id, globs: event.globs, token: event.token });
        return;
      case 'released':
        this.#leases.delete(task.id);
        return;
      case 'waiting': {
        const heldBy = sanitize(event.heldBy);
        task.reason = `files held by ${heldBy}`;
        task.log.push(`waiting: files held by ${heldBy}`);
        return;
      }
      case 'violation':
        task.log.push(`lease ${event.blocked ? 'refused' : 'warning'}: ${violationText({ where: event.where, path: sanitize(event.path) })}`);
        return;
      default:
        return unreachable(event);
    }
  }

  #applyMerge(event: MergeEvent): void {
    const task = this.#task(event.task);
    switch (event.reason) {
      case 'queued':
        this.#queue.set(task.id, { task: task.id, merging: false });
        return;
      case 'started':
        this.#queue.set(task.id, { task: task.id, merging: true });
        return;
      case 'merged':
        this.#queue.delete(task.id);
        task.log.push(`merged as ${event.commit.slice(0, 10)}`);
        return;
      case 'conflict':
        this.#queue.delete(task.id);
        task.lastFailure = `merge conflict in ${event.files.map(sanitize).join(', ')}`;
        task.log.push(task.lastFailure);
        return;
      case 'undone':
        this.#queue.delete(task.id);
        task.lastFailure = `merge check failed, merge undone: ${sanitize(event.detail)}`;
        task.log.push(task.lastFailure);
        return;
      default:
        return unreachable(event);
    }
  }
}
