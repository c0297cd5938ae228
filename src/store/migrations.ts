import { NewerSchemaError } from './broken.js';
import type { Db } from './db.js';

/**
 * Schema versions, applied in order; `user_version` records the last one applied. Never edit
 * a shipped migration: add the next one. Times are epoch milliseconds, JSON columns are text.
 */
const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE runs (
    name        TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    into_branch TEXT NOT NULL,
    base_sha    TEXT NOT NULL,
    status      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    cost_usd    REAL NOT NULL DEFAULT 0
  );
  CREATE TABLE tasks (
    run        TEXT NOT NULL REFERENCES runs(name) ON DELETE CASCADE,
    task       TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    hash       TEXT NOT NULL,
    branch     TEXT,
    worktree   TEXT,
    start_sha  TEXT,
    merged_sha TEXT,
    session_id TEXT,
    cost_usd   REAL NOT NULL DEFAULT 0,
    turns      INTEGER NOT NULL DEFAULT 0,
    detail     TEXT,
    ready_at   INTEGER,
    started_at INTEGER,
    ended_at   INTEGER,
    PRIMARY KEY (run, task)
  );
  CREATE TABLE attempts (
    run        TEXT NOT NULL,
    task       TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    outcome    TEXT,
    exit_code  INTEGER,
    cost_usd   REAL,
    turns      INTEGER,
    session_id TEXT,
    log_file   TEXT,
    detail     TEXT,
    PRIMARY KEY (run, task, attempt),
    FOREIGN KEY (run, task) REFERENCES tasks(run, task) ON DELETE CASCADE
  );
  CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run    TEXT NOT NULL,
    task   TEXT,
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    reason TEXT NOT NULL,
    data   TEXT NOT NULL
  );
  CREATE INDEX events_by_task ON events(run, task, id);
  CREATE TABLE leases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    holder      TEXT NOT NULL,
    run         TEXT,
    task        TEXT,
    globs       TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    renewed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    reason      TEXT,
    token       INTEGER NOT NULL UNIQUE
  );
  CREATE INDEX leases_by_holder ON leases(holder);
  -- The fencing counter lives apart from the leases so that deleting a lease never lets
  -- its token be handed out again.
  CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
  INSERT INTO counters (name, value) VALUES ('lease_token', 0);
  CREATE TABLE messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run       TEXT NOT NULL,
    from_task TEXT,
    to_task   TEXT,
    at        INTEGER NOT NULL,
    body      TEXT NOT NULL
  );
  CREATE TABLE durations (
    task       TEXT PRIMARY KEY,
    ms         REAL NOT NULL,
    samples    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  /* 2 */ `
  -- A pid alone cannot tell a crashed runner from a later process that got its pid.
  ALTER TABLE runs ADD COLUMN pid_start TEXT;
  ALTER TABLE leases ADD COLUMN pid_start TEXT;
  `,
  /* 3 */ `
  -- Where the integration branch was while a merge's check runs: the undo point after a crash.
  ALTER TABLE tasks ADD COLUMN merge_base TEXT;
  `,
  /* 4 */ `
  -- One runner per run: the row is claimed in one BEGIN IMMEDIATE before any git work, and
  -- taken over only when its process is gone.
  CREATE TABLE runners (
    run        TEXT PRIMARY KEY,
    pid        INTEGER NOT NULL,
    pid_start  TEXT,
    host       TEXT NOT NULL,
    started_at INTEGER NOT NULL
  );
  -- The integration branch's head as swarm last wrote it: every move is a compare-and-swap
  -- from here, and a branch found elsewhere was moved by someone else.
  ALTER TABLE runs ADD COLUMN head_sha TEXT;
  `,
  /* 5 */ `
  -- Messages to running tasks (kind 'message'; from_task NULL: a person, named by sender)
  -- and notes an agent leaves for its dependents (kind 'note', to_task NULL). announced_at:
  -- the runner has told its reporters; delivered_at/how: the agent has seen it (hook|prompt).
  ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
  ALTER TABLE messages ADD COLUMN sender TEXT;
  ALTER TABLE messages ADD COLUMN announced_at INTEGER;
  ALTER TABLE messages ADD COLUMN delivered_at INTEGER;
  ALTER TABLE messages ADD COLUMN delivered_how TEXT;
  CREATE INDEX messages_to_task ON messages(run, to_task, delivered_at);
  -- swarm stop / swarm retry from another terminal: the runner polls, acts, and answers.
  CREATE TABLE requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run        TEXT NOT NULL,
    task       TEXT NOT NULL,
    action     TEXT NOT NULL,
    sender     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    handled_at INTEGER,
    ok         INTEGER,
    detail     TEXT
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema up to date. Safe when several processes open a new database at once. */
export function migrate(db: Db): void {
  if (version(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Read again under the write lock: another process may have migrated meanwhile.
    const current = version(db);
    if (current > SCHEMA_VERSION) {
      throw new NewerSchemaError(current, SCHEMA_VERSION);
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

function version(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
