import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';

describe('store: what crash recovery needs', () => {
  it("releaseRunLeases drops only that run's leases, dead or alive; interruptOpenAttempts closes only open attempts", () => {
    const store = openStore(join(mkdtempSync(join(tmpdir(), 'swarm-store-')), 'state.db'));
    try {
      const req = { pid: 2 ** 22 + 7, host: 'here', ttlMs: 60_000 };
      expect(store.acquire({ ...req, holder: 'r/a', run: 'r', task: 'a', globs: ['a/**'] }).ok).toBe(true);
      expect(store.acquire({ ...req, holder: 'r/b', run: 'r', task: 'b', globs: ['b/**'] }).ok).toBe(true);
      expect(store.acquire({ ...req, holder: 'other/a', run: 'other', task: 'a', globs: ['c/**'] }).ok).toBe(true);
      expect(store.acquire({ ...req, holder: 'alice', globs: ['d/**'], pid: 0 }).ok).toBe(true);
      expect(store.releaseRunLeases('r')).toBe(2);
      expect(
        store
          .leaseRows()
          .map((l) => l.holder)
          .sort(),
      ).toEqual(['alice', 'other/a']);

      store.saveRun({ name: 'r', file: '/f', into: 'swarm/r', baseSha: 'b', status: 'running', pid: 1, host: 'here', startedAt: 1, costUsd: 0 }, [
        { task: 'a', hash: 'h', state: 'running' },
        { task: 'b', hash: 'h', state: 'queued' },
      ]);
      store.startAttempt('r', 'a', 1, { startedAt: 10 });
      store.startAttempt('r', 'b', 1, { startedAt: 10 });
      store.finishAttempt('r', 'b', 1, { endedAt: 20, outcome: 'ok' });
      expect(store.interruptOpenAttempts('r', 30)).toEqual([{ task: 'a', attempt: 1 }]);
      expect(store.attempts('r')).toMatchObject([
        { task: 'a', attempt: 1, endedAt: 30, outcome: 'interrupted' },
        { task: 'b', attempt: 1, endedAt: 20, outcome: 'ok' },
      ]);
      expect(store.interruptOpenAttempts('r', 40)).toEqual([]);

      store.appendEvent({ type: 'log', reason: 'info', message: 'first', run: 'r', at: 1 });
      store.appendEvent({ type: 'log', reason: 'info', message: 'second', run: 'r', at: 2 });
      expect(store.lastEvent('r', 'log', 'info')?.event).toMatchObject({ message: 'second' });
      expect(store.lastEvent('r', 'run', 'started')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
