import { appendFileSync } from 'node:fs';
import type { Lease } from '../engine/ports.js';
import type { Guard } from './guard-env.js';

/** Live leases of other holders than this task, read without writing state.db (read-only in the sandbox). */
export async function otherLeases(guard: Guard): Promise<Lease[]> {
  if (guard.stateDb === undefined) return [];
  // Lazily: most hook calls should not pay for loading SQLite.
  const { openStore, readLiveLeases } = await import('../store/index.js');
  let leases: Lease[];
  try {
    leases = readLiveLeases(guard.stateDb);
  } catch {
    // No runner holds the database open (a hook run by hand): no -shm to read through, so
    // open it the ordinary way, which (re)creates it. In a sandbox this throws: the hook refuses.
    const store = openStore(guard.stateDb);
    try {
      leases = store.list();
    } finally {
      store.close();
    }
  }
  return leases.filter((lease) => lease.id !== guard.leaseId);
}

/** One line of a task's spool: a violation a hook saw, for the runner to record. */
export interface SpooledViolation {
  readonly path: string;
  readonly where: 'hook' | 'pre-commit';
  readonly blocked: boolean;
  readonly at: number;
}

/**
 * Records violations for the runner, which turns them into `lease`/`violation` events after
 * the attempt. The hooks run inside the agent's sandbox, where state.db is read-only: they
 * append to the task's spool (SWARM_SPOOL, the one file under .swarm/ the agent may write).
 * Without a spool (a hook run by hand) the store is written directly. Never fails the hook
 * over it: the decision stands either way.
 */
export async function recordViolations(guard: Guard, paths: readonly string[], where: 'hook' | 'pre-commit'): Promise<void> {
  const { run, task } = guard;
  if (run === undefined || task === undefined || paths.length === 0) return;
  const at = Date.now();
  const blocked = guard.mode === 'block';
  try {
    if (guard.spool !== undefined) {
      appendFileSync(guard.spool, paths.map((path) => `${JSON.stringify({ path, where, blocked, at } satisfies SpooledViolation)}\n`).join(''));
      return;
    }
    if (guard.stateDb === undefined) return;
    const { openStore } = await import('../store/index.js');
    const store = openStore(guard.stateDb);
    try {
      for (const path of paths) store.appendEvent({ type: 'lease', reason: 'violation', run, task, at, path, where, blocked });
    } finally {
      store.close();
    }
  } catch {
    // A missing record is not worth failing an edit or a commit.
  }
}
