import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS, type Db, writeTx } from './db.js';

/**
 * The `messages` and `requests` tables: what people and agents send to a live run. Anyone
 * writes a row (`swarm msg`, `swarm note`, `swarm stop`, `swarm retry`); the run's runner
 * polls, tells its reporters (announced), acts on requests, and records when each message
 * reached its agent (delivered), so that each one is delivered once.
 */
export interface MessageRecord {
  readonly id: number;
  readonly run: string;
  /** `message`: to `to`; `note`: from `fromTask` to whatever depends on it. */
  readonly kind: 'message' | 'note';
  /** The sending task; undefined when a person sent it (see `sender`). */
  readonly fromTask?: string;
  /** A person's name, when no task sent it. */
  readonly sender?: string;
  readonly to?: string;
  readonly at: number;
  readonly body: string;
  readonly announcedAt?: number;
  readonly deliveredAt?: number;
  readonly deliveredHow?: 'hook' | 'prompt';
}

export type NewMessage = Pick<MessageRecord, 'run' | 'kind' | 'fromTask' | 'sender' | 'to' | 'body'> & { readonly at?: number };

export type RequestAction = 'stop' | 'retry';

export interface RequestRecord {
  readonly id: number;
  readonly run: string;
  readonly task: string;
  readonly action: RequestAction;
  readonly sender: string;
  readonly at: number;
  readonly handledAt?: number;
  readonly ok?: boolean;
  readonly detail?: string;
}

interface MessageRow {
  id: number;
  run: string;
  kind: string;
  from_task: string | null;
  sender: string | null;
  to_task: string | null;
  at: number;
  body: string;
  announced_at: number | null;
  delivered_at: number | null;
  delivered_how: string | null;
}

interface RequestRow {
  id: number;
  run: string;
  task: string;
  action: string;
  sender: string;
  at: number;
  handled_at: number | null;
  ok: number | null;
  detail: string | null;
}

export class Messages {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  send(m: NewMessage): MessageRecord {
    return writeTx(this.#db, () => {
      const info = this.#db
        .prepare('INSERT INTO messages (run, kind, from_task, sender, to_task, at, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(m.run, m.kind, m.fromTask ?? null, m.sender ?? null, m.to ?? null, m.at ?? this.#now(), m.body);
      return this.#get(Number(info.lastInsertRowid))!;
    });
  }

  /** Messages (and notes) the runner has not told its reporters about yet, oldest first; marks them told. */
  announce(run: string): MessageRecord[] {
    return writeTx(this.#db, () => {
      const rows = this.#db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE run = ? AND announced_at IS NULL ORDER BY id').all(run);
      const mark = this.#db.prepare('UPDATE messages SET announced_at = ? WHERE id = ?');
      const now = this.#now();
      for (const row of rows) mark.run(now, row.id);
      return rows.map(toMessage);
    });
  }

  /** Messages to `task` its agent has not seen, oldest first. */
  undelivered(run: string, task: string): MessageRecord[] {
    return undelivered(this.#db, run, task);
  }

  /**
   * Marks messages delivered; returns those this call marked (a message another process
   * marked first is not returned again: each is delivered once).
   */
  markDelivered(ids: readonly number[], how: 'hook' | 'prompt'): MessageRecord[] {
    if (ids.length === 0) return [];
    return writeTx(this.#db, () => {
      const mark = this.#db.prepare('UPDATE messages SET delivered_at = ?, delivered_how = ? WHERE id = ? AND delivered_at IS NULL');
      const now = this.#now();
      const marked: MessageRecord[] = [];
      for (const id of ids) if (mark.run(now, how, id).changes === 1) marked.push(this.#get(id)!);
      return marked;
    });
  }

  /** Takes the undelivered messages to `task` for its next prompt, marking them delivered. */
  takeForPrompt(run: string, task: string): MessageRecord[] {
    return writeTx(this.#db, () => {
      const rows = undelivered(this.#db, run, task);
      return this.markDelivered(
        rows.map((r) => r.id),
        'prompt',
      );
    });
  }

  /** The notes `task` left, oldest first. */
  notesFrom(run: string, task: string): MessageRecord[] {
    return this.#db
      .prepare<[string, string], MessageRow>("SELECT * FROM messages WHERE run = ? AND kind = 'note' AND from_task = ? ORDER BY id")
      .all(run, task)
      .map(toMessage);
  }

  /** A run's messages to or from `task` (for `swarm logs`), oldest first. */
  involving(run: string, task: string): MessageRecord[] {
    return this.#db
      .prepare<[string, string, string], MessageRow>('SELECT * FROM messages WHERE run = ? AND (to_task = ? OR from_task = ?) ORDER BY id')
      .all(run, task, task)
      .map(toMessage);
  }

  request(r: { run: string; task: string; action: RequestAction; sender: string }): RequestRecord {
    return writeTx(this.#db, () => {
      const info = this.#db
        .prepare('INSERT INTO requests (run, task, action, sender, at) VALUES (?, ?, ?, ?, ?)')
        .run(r.run, r.task, r.action, r.sender, this.#now());
      return this.getRequest(Number(info.lastInsertRowid))!;
    });
  }

  /** Requests no runner has answered yet, oldest first. */
  pendingRequests(run: string): RequestRecord[] {
    return this.#db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE run = ? AND handled_at IS NULL ORDER BY id').all(run).map(toRequest);
  }

  answerRequest(id: number, ok: boolean, detail: string): void {
    writeTx(this.#db, () => this.#db.prepare('UPDATE requests SET handled_at = ?, ok = ?, detail = ? WHERE id = ?').run(this.#now(), ok ? 1 : 0, detail, id));
  }

  getRequest(id: number): RequestRecord | undefined {
    const row = this.#db.prepare<[number], RequestRow>('SELECT * FROM requests WHERE id = ?').get(id);
    return row && toRequest(row);
  }

  #get(id: number): MessageRecord | undefined {
    const row = this.#db.prepare<[number], MessageRow>('SELECT * FROM messages WHERE id = ?').get(id);
    return row && toMessage(row);
  }
}

function undelivered(db: Db, run: string, task: string): MessageRecord[] {
  return db
    .prepare<[string, string], MessageRow>("SELECT * FROM messages WHERE run = ? AND to_task = ? AND kind = 'message' AND delivered_at IS NULL ORDER BY id")
    .all(run, task)
    .map(toMessage);
}

/**
 * Undelivered messages to `task`, read without writing anything: the hook runs inside the
 * agent's sandbox, where state.db is read-only (see read-only.ts for why that works while
 * the runner holds the database open).
 */
export function readUndelivered(dbPath: string, run: string, task: string): MessageRecord[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    return undelivered(db, run, task);
  } finally {
    db.close();
  }
}

function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    run: row.run,
    kind: row.kind === 'note' ? 'note' : 'message',
    ...(row.from_task !== null ? { fromTask: row.from_task } : {}),
    ...(row.sender !== null ? { sender: row.sender } : {}),
    ...(row.to_task !== null ? { to: row.to_task } : {}),
    at: row.at,
    body: row.body,
    ...(row.announced_at !== null ? { announcedAt: row.announced_at } : {}),
    ...(row.delivered_at !== null ? { deliveredAt: row.delivered_at } : {}),
    ...(row.delivered_how === 'hook' || row.delivered_how === 'prompt' ? { deliveredHow: row.delivered_how } : {}),
  };
}

function toRequest(row: RequestRow): RequestRecord {
  return {
    id: row.id,
    run: row.run,
    task: row.task,
    action: row.action === 'retry' ? 'retry' : 'stop',
    sender: row.sender,
    at: row.at,
    ...(row.handled_at !== null ? { handledAt: row.handled_at } : {}),
    ...(row.ok !== null ? { ok: row.ok === 1 } : {}),
    ...(row.detail !== null ? { detail: row.detail } : {}),
  };
}

/** Who sent a message, as an agent reads it. */
export function senderName(m: Pick<MessageRecord, 'fromTask' | 'sender'>): string {
  return m.fromTask !== undefined ? `task ${m.fromTask}` : `${m.sender ?? 'a person'} (a person)`;
}

/** What `swarm msg` from an agent's shell needs to know of the run, read without writing (state.db is read-only in the sandbox). */
export interface RunSnapshot {
  readonly status: string;
  readonly pid: number;
  readonly pidStart?: string;
  readonly host: string;
  readonly tasks: ReadonlyMap<string, string>;
}

export function readRunSnapshot(dbPath: string, run: string): RunSnapshot | undefined {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const row = db
      .prepare<[string], { status: string; pid: number; pid_start: string | null; host: string }>(
        'SELECT status, pid, pid_start, host FROM runs WHERE name = ?',
      )
      .get(run);
    if (row === undefined) return undefined;
    const tasks = db.prepare<[string], { task: string; state: string }>('SELECT task, state FROM tasks WHERE run = ?').all(run);
    return {
      status: row.status,
      pid: row.pid,
      ...(row.pid_start !== null ? { pidStart: row.pid_start } : {}),
      host: row.host,
      tasks: new Map(tasks.map((t) => [t.task, t.state])),
    };
  } finally {
    db.close();
  }
}
