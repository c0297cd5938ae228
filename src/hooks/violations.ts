import type { Lease } from '../engine/ports.js';
import type { Guard } from './guard-env.js';

/**
 * The hooks open the store only when they must (the lease check, recording a violation),
 * and import it lazily: most hook calls should not pay for loading SQLite.
 */
async function withStore<T>(guard: Guard, fn: (store: import('../store/index.js').SqliteStore) => T): Promise<T | undefined> {
  if (guard.stateDb === undefined) return undefined;
  const { openStore } = await import('../store/index.js');
  const store = openStore(guard.stateDb);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** Live leases of other holders than this task. */
export async function otherLeases(guard: Guard): Promise<Lease[]> {
  return (await withStore(guard, (store) => store.list().filter((lease) => lease.id !== guard.leaseId))) ?? [];
}

/** Records violations as `lease`/`violation` events; never fails the hook over it. */
export async function recordViolations(guard: Guard, paths: readonly string[], where: 'hook' | 'pre-commit'): Promise<void> {
  const { run, task } = guard;
  if (run === undefined || task === undefined || paths.length === 0) return;
  try {
    await withStore(guard, (store) => {
      const at = Date.now();
      for (const path of paths) {
        store.appendEvent({ type: 'lease', reason: 'violation', run, task, at, path, where, blocked: guard.mode === 'block' });
      }
    });
  } catch {
    // The decision stands either way; a missing record is not worth failing an edit or a commit.
  }
}
