// Over 400 lines: one class, the SQLite implementation of the RunStore port (runs, tasks,
// attempts, events, leases, runner claims), whose methods share prepared statements and one
// transaction discipline. The SQL that stands alone already lives beside it (leases.ts,
// migrations.ts, liveness.ts).
import type { SwarmEvent } from '../engine/events.js';
import type { AcquireResult, Lease, LeaseRequest, RunnerClaim, RunRecord, RunStatus, RunStore, TaskPatch, TaskRecord } from '../engine/ports.js';
import type { TaskState } from '../engine/task-state.js';
import { err, ok, type Result } from '../util/result.js';
import { StateDbError } from './broken.js';
import { openDb, writeTx, type Db } from './db.js';
import { Leases } from './leases.js';
import { Messages } from './messages.js';

export interface StoreOptions {
  /** The clock for lease times and expiry; tests pass a fake one. @default Date.now */
  readonly now?: () => number;
}

/** One attempt of a task: when it ran and how it ended (for `swarm status` and `logs`). */
export interface AttemptRecord {
  readonly run: string;
  readonly task: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  /** e.g. `ok`, `exit`, `is-error`, `timeout`, `cancelled`, `check-failed`. */
  readonly outcome?: string;
  readonly exitCode?: number;
  readonly costUsd?: number;
  readonly turns?: number;
  readonly sessionId?: string;
  readonly logFile?: string;
  readonly detail?: string;
}

export type AttemptPatch = Partial<Omit<AttemptRecord, 'run' | 'task' | 'attempt'>>;

export interface StoredEvent {
  /** Grows with every event written; pass the last one seen as `afterId` to follow. */
  readonly id: number;
  readonly event: SwarmEvent;
}

export interface EventQuery {
  readonly task?: string;
  readonly afterId?: number;
  readonly limit?: number;
  /** Only events of this type and reason (both columns of the row). */
  readonly type?: SwarmEvent['type'];
  readonly reason?: string;
}

const TASK_COLUMNS: Readonly<Record<keyof TaskPatch, string>> = {
  attempts: 'attempts',
  hash: 'hash',
  branch: 'branch',
  worktree: 'worktree',
  startSha: 'start_sha',
  mergedSha: 'merged_sha',
  mergeBase: 'merge_base',
  sessionId: 'session_id',
  costUsd: 'cost_usd',
  turns: 'turns',
  detail: 'detail',
  readyAt: 'ready_at',
  startedAt: 'started_at',
  endedAt: 'ended_at',
};

const ATTEMPT_COLUMNS: Readonly<Record<keyof AttemptPatch, string>> = {
  startedAt: 'started_at',
  endedAt: 'ended_at',
  outcome: 'outcome',
  exitCode: 'exit_code',
  costUsd: 'cost_usd',
  turns: 'turns',
  sessionId: 'session_id',
  logFile: 'log_file',
  detail: 'detail',
};

/** `.swarm/state.db`: runs, tasks, attempts, events, leases and learnt durations. */
export class SqliteStore implements RunStore {
  readonly path: string;
  readonly #db: Db;
  readonly #now: () => number;
  readonly #leases: Leases;
  /** Messages, notes, and stop/retry requests for live runs (see messages.ts). */
  readonly messages: Messages;

  constructor(path: string, options: StoreOptions = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
    this.#db = openDb(path);
    this.#leases = new Leases(this.#db, this.#now);
    this.messages = new Messages(this.#db, this.#now);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // -------------------------------------------------------------------------- leases

  acquire(req: LeaseRequest): AcquireResult {
    return this.#leases.acquire(req);
  }
  renew(id: number, token: number, ttlMs: number): boolean {
    return this.#leases.renew(id, token, ttlMs);
  }
  release(id: number, token: number): void {
    this.#leases.release(id, token);
  }
  list(): Lease[] {
    return this.#leases.list();
  }
  isCurrent(id: number, token: number): boolean {
    return this.#leases.isCurrent(id, token);
  }
  /**
   * Drops every lease a run's tasks hold, live or not. Only the runner starting that run
   * calls it, after it made sure no other runner of the run is alive: what is left then is
   * a crashed runner's, and would otherwise sit there until its TTL or a takeover.
   */
  releaseRunLeases(run: string): number {
    return this.#leases.releaseRun(run);
  }
  /** Every lease row, live or not: what `swarm lease renew|release --holder` looks through. */
  leaseRows(): Lease[] {
    return this.#leases.rows();
  }

  // -------------------------------------------------------------------------- runs

  getRun(name: string): RunRecord | undefined {
    const row = this.#db.prepare<[string], RunRow>('SELECT * FROM runs WHERE name = ?').get(name);
    return row && toRun(row);
  }

  listRuns(): RunRecord[] {
    return this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY started_at DESC').all().map(toRun);
  }

  saveRun(run: RunRecord, tasks: readonly { task: string; hash: string; state: TaskState }[]): void {
    writeTx(this.#db, () => {
      this.#db
        .prepare(
          `INSERT INTO runs (name, file, into_branch, base_sha, status, pid, pid_start, host, started_at, finished_at, cost_usd, head_sha)
           VALUES (@name, @file, @into, @baseSha, @status, @pid, @pidStart, @host, @startedAt, @finishedAt, @costUsd, @headSha)
           ON CONFLICT (name) DO UPDATE SET file = excluded.file, into_branch = excluded.into_branch,
             base_sha = excluded.base_sha, status = excluded.status, pid = excluded.pid, pid_start = excluded.pid_start, host = excluded.host,
             started_at = excluded.started_at, finished_at = excluded.finished_at, cost_usd = excluded.cost_usd,
             head_sha = coalesce(excluded.head_sha, runs.head_sha)`,
        )
        .run({ ...run, pidStart: run.pidStart ?? null, finishedAt: run.finishedAt ?? null, headSha: run.headSha ?? null });
      const upsert = this.#db.prepare(
        `INSERT INTO tasks (run, task, state, hash) VALUES (?, ?, ?, ?)
         ON CONFLICT (run, task) DO UPDATE SET state = excluded.state, hash = excluded.hash`,
      );
      for (const t of tasks) upsert.run(run.name, t.task, t.state, t.hash);
      // Tasks no longer in the file leave the run (with their attempts).
      const keep = new Set(tasks.map((t) => t.task));
      const drop = this.#db.prepare('DELETE FROM tasks WHERE run = ? AND task = ?');
      for (const { task } of this.#db.prepare<[string], { task: string }>('SELECT task FROM tasks WHERE run = ?').all(run.name)) {
        if (!keep.has(task)) drop.run(run.name, task);
      }
    });
  }

  /**
   * Forgets a saved run (`swarm run --fresh`): its tasks, attempts, events and messages.
   * Leases are left alone; they end with their holders. Returns what was dropped, for the
   * user, or undefined when there was no such run.
   */
  discardRun(name: string): string | undefined {
    return writeTx(this.#db, () => {
      const tasks = this.#db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM tasks WHERE run = ?').get(name)!.n;
      const events = this.#db.prepare('DELETE FROM events WHERE run = ?').run(name).changes;
      this.#db.prepare('DELETE FROM messages WHERE run = ?').run(name);
      this.#db.prepare('DELETE FROM requests WHERE run = ?').run(name);
      if (this.#db.prepare('DELETE FROM runs WHERE name = ?').run(name).changes === 0) return undefined;
      return `${tasks} task${tasks === 1 ? '' : 's'}, ${events} event${events === 1 ? '' : 's'}`;
    });
  }

  setRunStatus(name: string, status: RunStatus, patch: { finishedAt?: number; costUsd?: number } = {}): void {
    writeTx(this.#db, () => {
      const sets = ['status = @status'];
      if (patch.finishedAt !== undefined) sets.push('finished_at = @finishedAt');
      if (patch.costUsd !== undefined) sets.push('cost_usd = @costUsd');
      const changed = this.#db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE name = @name`).run({ name, status, ...patch }).changes;
      if (changed === 0) throw new Error(`no run named ${name} in ${this.path}`);
    });
  }

  setIntegrationHead(name: string, sha: string): void {
    writeTx(this.#db, () => {
      if (this.#db.prepare('UPDATE runs SET head_sha = ? WHERE name = ?').run(sha, name).changes === 0) {
        throw new Error(`no run named ${name} in ${this.path}`);
      }
    });
  }

  // -------------------------------------------------------------------------- runners

  /**
   * Makes this process the run's one runner, in one BEGIN IMMEDIATE: two runners started
   * together cannot both see the run free. A row whose process is gone (crashed, or a
   * reused pid: `alive` is judged by pid and start time) is taken over. Returns the live
   * holder instead when there is one.
   */
  claimRunner(run: string, me: RunnerClaim, alive: (holder: RunnerClaim) => boolean): { ok: true } | { ok: false; holder: RunnerClaim } {
    return writeTx(this.#db, () => {
      const row = this.#db.prepare<[string], RunnerRow>('SELECT * FROM runners WHERE run = ?').get(run);
      if (row !== undefined) {
        const holder = toRunner(row);
        const mine = holder.pid === me.pid && holder.host === me.host && (holder.pidStart ?? me.pidStart) === me.pidStart;
        if (!mine && alive(holder)) return { ok: false, holder };
      }
      this.#db
        .prepare(
          `INSERT INTO runners (run, pid, pid_start, host, started_at) VALUES (@run, @pid, @pidStart, @host, @startedAt)
           ON CONFLICT (run) DO UPDATE SET pid = excluded.pid, pid_start = excluded.pid_start, host = excluded.host, started_at = excluded.started_at`,
        )
        .run({ run, pid: me.pid, pidStart: me.pidStart ?? null, host: me.host, startedAt: me.startedAt });
      return { ok: true };
    });
  }

  /** The process recorded as the run's runner, alive or not. */
  runnerOf(run: string): RunnerClaim | undefined {
    const row = this.#db.prepare<[string], RunnerRow>('SELECT * FROM runners WHERE run = ?').get(run);
    return row && toRunner(row);
  }

  /** Gives the run up, if this process (pid on host) still holds it. */
  releaseRunner(run: string, pid: number, host: string): void {
    writeTx(this.#db, () => this.#db.prepare('DELETE FROM runners WHERE run = ? AND pid = ? AND host = ?').run(run, pid, host));
  }

  // -------------------------------------------------------------------------- tasks

  getTasks(run: string): TaskRecord[] {
    return this.#db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE run = ? ORDER BY rowid').all(run).map(toTask);
  }

  transition(run: string, task: string, to: TaskState, patch: TaskPatch, event: SwarmEvent): void {
    writeTx(this.#db, () => {
      this.#updateTask(run, task, patch, to);
      this.#insertEvent(event);
    });
  }

  updateTask(run: string, task: string, patch: TaskPatch): void {
    writeTx(this.#db, () => this.#updateTask(run, task, patch));
  }

  #updateTask(run: string, task: string, patch: TaskPatch, state?: TaskState): void {
    const sets: string[] = [];
    const values: Record<string, unknown> = { run, task };
    if (state !== undefined) {
      sets.push('state = @state');
      values.state = state;
    }
    for (const [key, column] of Object.entries(TASK_COLUMNS) as [keyof TaskPatch, string][]) {
      if (!(key in patch)) continue;
      sets.push(`${column} = @${key}`);
      values[key] = patch[key] ?? null;
    }
    if (sets.length === 0) return;
    const changed = this.#db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE run = @run AND task = @task`).run(values).changes;
    if (changed === 0) throw new Error(`no task ${task} in run ${run}`);
  }

  // -------------------------------------------------------------------------- attempts

  startAttempt(run: string, task: string, attempt: number, patch: AttemptPatch = {}): void {
    writeTx(this.#db, () => {
      this.#db
        .prepare(
          `INSERT INTO attempts (run, task, attempt, started_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (run, task, attempt) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL, outcome = NULL`,
        )
        .run(run, task, attempt, patch.startedAt ?? this.#now());
      this.#updateAttempt(run, task, attempt, patch);
    });
  }

  finishAttempt(run: string, task: string, attempt: number, patch: AttemptPatch): void {
    writeTx(this.#db, () => this.#updateAttempt(run, task, attempt, { endedAt: this.#now(), ...patch }));
  }

  attempts(run: string, task?: string): AttemptRecord[] {
    const rows =
      task === undefined
        ? this.#db.prepare<[string], AttemptRow>('SELECT * FROM attempts WHERE run = ? ORDER BY task, attempt').all(run)
        : this.#db.prepare<[string, string], AttemptRow>('SELECT * FROM attempts WHERE run = ? AND task = ? ORDER BY attempt').all(run, task);
    return rows.map(toAttempt);
  }

  /**
   * Closes the attempts a crashed runner left open (no end time) as `interrupted`, so
   * `swarm status` does not show them running forever. Returns the closed ones.
   */
  interruptOpenAttempts(run: string, at: number): { task: string; attempt: number }[] {
    return writeTx(this.#db, () => {
      const open = this.#db
        .prepare<[string], { task: string; attempt: number }>('SELECT task, attempt FROM attempts WHERE run = ? AND ended_at IS NULL ORDER BY task, attempt')
        .all(run);
      this.#db
        .prepare(
          "UPDATE attempts SET ended_at = ?, outcome = 'interrupted', detail = 'the runner stopped during this attempt' WHERE run = ? AND ended_at IS NULL",
        )
        .run(at, run);
      return open;
    });
  }

  #updateAttempt(run: string, task: string, attempt: number, patch: AttemptPatch): void {
    const sets: string[] = [];
    const values: Record<string, unknown> = { run, task, attempt };
    for (const [key, column] of Object.entries(ATTEMPT_COLUMNS) as [keyof AttemptPatch, string][]) {
      if (!(key in patch)) continue;
      sets.push(`${column} = @${key}`);
      values[key] = patch[key] ?? null;
    }
    if (sets.length === 0) return;
    const sql = `UPDATE attempts SET ${sets.join(', ')} WHERE run = @run AND task = @task AND attempt = @attempt`;
    if (this.#db.prepare(sql).run(values).changes === 0) throw new Error(`no attempt ${attempt} of ${run}/${task}`);
  }

  // -------------------------------------------------------------------------- events

  appendEvent(event: SwarmEvent): void {
    writeTx(this.#db, () => this.#insertEvent(event));
  }

  #insertEvent(event: SwarmEvent): void {
    const task = 'task' in event ? event.task : null;
    this.#db
      .prepare('INSERT INTO events (run, task, at, type, reason, data) VALUES (?, ?, ?, ?, ?, ?)')
      .run(event.run, task, event.at, event.type, event.reason, JSON.stringify(event));
  }

  /** A run's events in the order they were written, optionally one task's, after an id. */
  events(run: string, query: EventQuery = {}): StoredEvent[] {
    const where = ['run = @run', 'id > @afterId'];
    if (query.task !== undefined) where.push('task = @task');
    if (query.type !== undefined) where.push('type = @type');
    if (query.reason !== undefined) where.push('reason = @reason');
    const rows = this.#db
      .prepare<Record<string, unknown>, { id: number; data: string }>(`SELECT id, data FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`)
      .all({ run, task: query.task ?? null, type: query.type ?? null, reason: query.reason ?? null, afterId: query.afterId ?? 0, limit: query.limit ?? -1 });
    return rows.map((row) => ({ id: row.id, event: JSON.parse(row.data) as SwarmEvent }));
  }

  /** The latest event of a run of this type and reason (e.g. the last `run/started`, which lists the tasks). */
  lastEvent(run: string, type: SwarmEvent['type'], reason: string): StoredEvent | undefined {
    const row = this.#db
      .prepare<[string, string, string], { id: number; data: string }>(
        'SELECT id, data FROM events WHERE run = ? AND type = ? AND reason = ? ORDER BY id DESC LIMIT 1',
      )
      .get(run, type, reason);
    return row && { id: row.id, event: JSON.parse(row.data) as SwarmEvent };
  }

  // -------------------------------------------------------------------------- durations

  learntDurations(): Map<string, number> {
    const rows = this.#db.prepare<[], { task: string; ms: number }>('SELECT task, ms FROM durations').all();
    return new Map(rows.map((r) => [r.task, r.ms]));
  }

  /**
   * Keeps a moving average, weighted toward recent runs (a task's cost drifts as the code
   * changes), so one unusually slow run does not dominate the critical path.
   */
  recordDuration(task: string, ms: number): void {
    writeTx(this.#db, () => {
      this.#db
        .prepare(
          `INSERT INTO durations (task, ms, samples, updated_at) VALUES (@task, @ms, 1, @now)
           ON CONFLICT (task) DO UPDATE SET ms = durations.ms * 0.6 + excluded.ms * 0.4,
             samples = durations.samples + 1, updated_at = excluded.updated_at`,
        )
        .run({ task, ms, now: this.#now() });
    });
  }
}

interface RunRow {
  name: string;
  file: string;
  into_branch: string;
  base_sha: string;
  status: RunStatus;
  pid: number;
  pid_start: string | null;
  host: string;
  started_at: number;
  finished_at: number | null;
  cost_usd: number;
  head_sha: string | null;
}

interface RunnerRow {
  run: string;
  pid: number;
  pid_start: string | null;
  host: string;
  started_at: number;
}

function toRunner(row: RunnerRow): RunnerClaim {
  return { pid: row.pid, ...(row.pid_start !== null ? { pidStart: row.pid_start } : {}), host: row.host, startedAt: row.started_at };
}

function toRun(row: RunRow): RunRecord {
  return {
    name: row.name,
    file: row.file,
    into: row.into_branch,
    baseSha: row.base_sha,
    status: row.status,
    pid: row.pid,
    ...(row.pid_start !== null ? { pidStart: row.pid_start } : {}),
    host: row.host,
    startedAt: row.started_at,
    ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
    costUsd: row.cost_usd,
    ...(row.head_sha !== null ? { headSha: row.head_sha } : {}),
  };
}

interface TaskRow {
  run: string;
  task: string;
  state: TaskState;
  attempts: number;
  hash: string;
  branch: string | null;
  worktree: string | null;
  start_sha: string | null;
  merged_sha: string | null;
  merge_base: string | null;
  session_id: string | null;
  cost_usd: number;
  turns: number;
  detail: string | null;
  ready_at: number | null;
  started_at: number | null;
  ended_at: number | null;
}

function toTask(row: TaskRow): TaskRecord {
  return {
    run: row.run,
    task: row.task,
    state: row.state,
    attempts: row.attempts,
    hash: row.hash,
    costUsd: row.cost_usd,
    turns: row.turns,
    ...defined({
      branch: row.branch,
      worktree: row.worktree,
      startSha: row.start_sha,
      mergedSha: row.merged_sha,
      mergeBase: row.merge_base,
      sessionId: row.session_id,
      detail: row.detail,
      readyAt: row.ready_at,
      startedAt: row.started_at,
      endedAt: row.ended_at,
    }),
  };
}

interface AttemptRow {
  run: string;
  task: string;
  attempt: number;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  exit_code: number | null;
  cost_usd: number | null;
  turns: number | null;
  session_id: string | null;
  log_file: string | null;
  detail: string | null;
}

function toAttempt(row: AttemptRow): AttemptRecord {
  return {
    run: row.run,
    task: row.task,
    attempt: row.attempt,
    startedAt: row.started_at,
    ...defined({
      endedAt: row.ended_at,
      outcome: row.outcome,
      exitCode: row.exit_code,
      costUsd: row.cost_usd,
      turns: row.turns,
      sessionId: row.session_id,
      logFile: row.log_file,
      detail: row.detail,
    }),
  };
}

/** Drops null columns so optional fields are absent rather than null. */
function defined<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], null> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (v !== null && v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], null> };
}

/** Opens `.swarm/state.db` (or any path), creating and migrating it as needed. */
export function openStore(dbPath: string, options: StoreOptions = {}): SqliteStore {
  return new SqliteStore(dbPath, options);
}

/**
 * Like openStore, for the commands: a database that cannot be used (not a database, cut
 * short, a folder, from a newer swarm) is a value carrying the message to print.
 */
export function openStateDb(dbPath: string, options: StoreOptions = {}): Result<SqliteStore, string> {
  try {
    return ok(new SqliteStore(dbPath, options));
  } catch (error) {
    if (error instanceof StateDbError) return err(error.message);
    throw error;
  }
}
