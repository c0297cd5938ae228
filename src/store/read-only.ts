import Database from 'better-sqlite3';
import type { Lease } from '../engine/ports.js';
import { BUSY_TIMEOUT_MS } from './db.js';
import { toLease } from './leases.js';
import { holderGone } from './liveness.js';

/**
 * Live leases, read without writing anything: the hooks run inside the agent's sandbox,
 * where state.db is read-only. SQLite reads a WAL database on a read-only filesystem as
 * long as its `-shm` file exists (the runner holds the database open while agents run, so it
 * does); otherwise this throws and the hook refuses, as for any guard that cannot decide.
 */
export function readLiveLeases(dbPath: string, now = Date.now()): Lease[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const rows = db.prepare('SELECT * FROM leases ORDER BY token').all() as Parameters<typeof toLease>[0][];
    return rows.map(toLease).filter((lease) => !holderGone(lease, now));
  } finally {
    db.close();
  }
}
