import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { brokenReason, noteOpened, StateDbError } from './broken.js';
import { migrate } from './migrations.js';

export type Db = Database.Database;

/** How long one statement waits for another process's write lock before SQLite gives up. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the state database: WAL so readers never wait for the writer,
 * a busy timeout so writers queue instead of failing, foreign keys on, then migrations.
 */
export function openDb(path: string): Db {
  let db: Db | undefined;
  noteOpened(path);
  try {
    // SQLite says only "unable to open database file" for a folder; say what it is.
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new StateDbError(path, 'it is a folder, not a database file');
    mkdirSync(dirname(path), { recursive: true });
    db = retryBusy(() => new Database(path, { timeout: BUSY_TIMEOUT_MS }));
    // The busy timeout must be in place before anything that needs a lock, journal_mode included.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The first read of the file: garbage, a cut-short file or a folder fail here.
    retryBusy(() => db!.pragma('journal_mode = WAL'));
    // NORMAL is durable across crashes of the process in WAL mode; only a power loss can drop
    // the last commits, and every holder of a lease dies with the power too.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    retryBusy(() => migrate(db!));
    return db;
  } catch (error) {
    if (db?.open) db.close();
    if (error instanceof StateDbError) throw error;
    const reason = brokenReason(error);
    if (reason === undefined) throw error;
    throw new StateDbError(path, reason, error);
  }
}

/**
 * Runs `fn` in a BEGIN IMMEDIATE transaction. IMMEDIATE takes the write lock up front, so a
 * transaction never has to upgrade a read lock (the one case the busy timeout cannot help);
 * the bounded retry covers a busy timeout that ran out under a long burst of writers.
 */
export function writeTx<T>(db: Db, fn: () => T): T {
  return retryBusy(() => db.transaction(fn).immediate());
}

const RETRIES = 8;

export function retryBusy<T>(fn: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || attempt >= RETRIES) throw error;
      // Synchronous on purpose: better-sqlite3 is synchronous, and callers hold no lock here.
      sleepSync(Math.min(1000, 20 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
