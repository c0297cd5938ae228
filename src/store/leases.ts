import { globSetsOverlap } from '../graph/overlap.js';
import type { AcquireResult, Lease, LeaseRequest } from '../engine/ports.js';
import { writeTx, type Db } from './db.js';
import { HOST, holderGone } from './liveness.js';
import { processStart } from '../util/process-identity.js';

interface LeaseRow {
  id: number;
  holder: string;
  run: string | null;
  task: string | null;
  globs: string;
  pid: number;
  pid_start: string | null;
  host: string;
  acquired_at: number;
  renewed_at: number;
  expires_at: number;
  reason: string | null;
  token: number;
}

export function toLease(row: LeaseRow): Lease {
  return {
    id: row.id,
    holder: row.holder,
    ...(row.run !== null ? { run: row.run } : {}),
    ...(row.task !== null ? { task: row.task } : {}),
    globs: JSON.parse(row.globs) as string[],
    pid: row.pid,
    ...(row.pid_start !== null ? { pidStart: row.pid_start } : {}),
    host: row.host,
    acquiredAt: row.acquired_at,
    renewedAt: row.renewed_at,
    expiresAt: row.expires_at,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    token: row.token,
  };
}

/** The lease operations, each one BEGIN IMMEDIATE transaction against the shared file. */
export class Leases {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #all;
  readonly #byId;
  readonly #delete;
  readonly #nextToken;
  readonly #insert;
  readonly #renew;
  readonly #release;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#all = db.prepare<[], LeaseRow>('SELECT * FROM leases ORDER BY token');
    this.#byId = db.prepare<[number], LeaseRow>('SELECT * FROM leases WHERE id = ?');
    this.#delete = db.prepare<[number]>('DELETE FROM leases WHERE id = ?');
    this.#nextToken = db.prepare<[], { value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'lease_token' RETURNING value");
    this.#insert = db.prepare(
      `INSERT INTO leases (holder, run, task, globs, pid, pid_start, host, acquired_at, renewed_at, expires_at, reason, token)
       VALUES (@holder, @run, @task, @globs, @pid, @pidStart, @host, @now, @now, @expires, @reason, @token) RETURNING *`,
    );
    this.#renew = db.prepare<[number, number, number, number]>('UPDATE leases SET renewed_at = ?, expires_at = ? WHERE id = ? AND token = ?');
    this.#release = db.prepare<[number, number]>('DELETE FROM leases WHERE id = ? AND token = ?');
  }

  /**
   * Grants the lease unless a live lease of another holder conflicts. Conflicting leases whose
   * holder is gone (expired, or dead pid on this host) are deleted first, in the same
   * transaction. A conflicting lease of the same holder, pid and host is the same owner asking
   * again (a person re-running `swarm lease acquire`), so it is replaced.
   */
  acquire(req: LeaseRequest): AcquireResult {
    if (req.globs.length === 0) throw new Error('a lease needs at least one glob');
    if (!(req.ttlMs > 0)) throw new Error(`a lease needs a positive ttl, got ${req.ttlMs}`);
    return writeTx(this.#db, () => {
      const now = this.#now();
      for (const row of this.#all.all()) {
        const other = toLease(row);
        if (!globSetsOverlap(req.globs, other.globs)) continue;
        const sameOwner = other.holder === req.holder && other.pid === req.pid && other.host === req.host;
        if (sameOwner || holderGone(other, now)) this.#delete.run(other.id);
        else return { ok: false, heldBy: other };
      }
      const token = this.#nextToken.get()!.value;
      const row = this.#insert.get({
        holder: req.holder,
        run: req.run ?? null,
        task: req.task ?? null,
        globs: JSON.stringify(req.globs),
        pid: req.pid,
        pidStart: req.pidStart ?? (req.host === HOST ? processStart(req.pid) : undefined) ?? null,
        host: req.host,
        now,
        expires: now + req.ttlMs,
        reason: req.reason ?? null,
        token,
      }) as LeaseRow;
      return { ok: true, lease: toLease(row) };
    });
  }

  /**
   * A lease row that still exists was never taken over (a takeover deletes it), so renewing
   * it is safe even just after it expired.
   */
  renew(id: number, token: number, ttlMs: number): boolean {
    return writeTx(this.#db, () => {
      const now = this.#now();
      return this.#renew.run(now, now + ttlMs, id, token).changes === 1;
    });
  }

  release(id: number, token: number): void {
    writeTx(this.#db, () => this.#release.run(id, token));
  }

  /** Deletes every lease row of a run's tasks, whoever's pid it names; returns how many. */
  releaseRun(run: string): number {
    return writeTx(this.#db, () => this.#db.prepare('DELETE FROM leases WHERE run = ?').run(run).changes);
  }

  list(): Lease[] {
    const now = this.#now();
    return this.#all
      .all()
      .map(toLease)
      .filter((lease) => !holderGone(lease, now));
  }

  /** Every row, live or not (for `swarm lease renew|release --holder`). */
  rows(): Lease[] {
    return this.#all.all().map(toLease);
  }

  /** The lease exists with this token and has not expired. */
  isCurrent(id: number, token: number): boolean {
    const row = this.#byId.get(id);
    return row !== undefined && row.token === token && row.expires_at > this.#now();
  }
}
