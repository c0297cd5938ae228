import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseRequest } from '../../src/engine/ports.js';
import { HOST, LeaseKeeper, openStore, type SqliteStore } from '../../src/store/index.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A store on a fresh file with a clock the test moves by hand. */
function tempStore(): { store: SqliteStore; clock: { now: number }; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-lease-'));
  const clock = { now: 1_000_000 };
  const path = join(dir, 'state.db');
  const store = openStore(path, { now: () => clock.now });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, clock, path };
}

const req = (holder: string, globs: string[], extra: Partial<LeaseRequest> = {}): LeaseRequest => ({
  holder,
  globs,
  pid: process.pid,
  host: HOST,
  ttlMs: 60_000,
  ...extra,
});

describe('leases', () => {
  it('grants disjoint globs, refuses overlapping ones and names the holder', () => {
    const { store } = tempStore();
    const a = store.acquire(req('run/a', ['src/a/**'], { run: 'run', task: 'a', reason: 'task a' }));
    const b = store.acquire(req('run/b', ['src/b/*.ts']));
    expect(a.ok && b.ok).toBe(true);
    const c = store.acquire(req('alice', ['src/**']));
    expect(c).toMatchObject({ ok: false, heldBy: { holder: 'run/a', globs: ['src/a/**'], run: 'run', task: 'a', reason: 'task a' } });
    expect(store.list().map((l) => l.holder)).toEqual(['run/a', 'run/b']);
  });

  it('hands out strictly increasing tokens that are never reused after a release', () => {
    const { store } = tempStore();
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = store.acquire(req('x', ['a/**']));
      if (!r.ok) throw new Error('refused');
      tokens.push(r.lease.token);
      store.release(r.lease.id, r.lease.token);
    }
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(5);
    expect(store.list()).toEqual([]);
  });

  it('takes over an expired lease, after which the old token is no longer current', () => {
    const { store, clock } = tempStore();
    const old = store.acquire(req('run/a', ['src/**'], { host: 'elsewhere', ttlMs: 1000 }));
    if (!old.ok) throw new Error('refused');
    expect(store.acquire(req('run/b', ['src/x.ts'])).ok).toBe(false);
    clock.now += 999;
    expect(store.isCurrent(old.lease.id, old.lease.token)).toBe(true);
    clock.now += 1;
    expect(store.list()).toEqual([]);
    expect(store.isCurrent(old.lease.id, old.lease.token)).toBe(false);
    const next = store.acquire(req('run/b', ['src/x.ts']));
    expect(next.ok).toBe(true);
    expect(store.renew(old.lease.id, old.lease.token, 1000)).toBe(false);
    expect(store.leaseRows().map((l) => l.holder)).toEqual(['run/b']);
  });

  it('renews: an expired lease nobody took over comes back; a released one does not', () => {
    const { store, clock } = tempStore();
    const r = store.acquire(req('a', ['x/**'], { ttlMs: 1000 }));
    if (!r.ok) throw new Error('refused');
    clock.now += 5000;
    expect(store.isCurrent(r.lease.id, r.lease.token)).toBe(false);
    expect(store.renew(r.lease.id, r.lease.token, 1000)).toBe(true);
    expect(store.isCurrent(r.lease.id, r.lease.token)).toBe(true);
    expect(store.list()[0]).toMatchObject({ renewedAt: clock.now, expiresAt: clock.now + 1000, acquiredAt: clock.now - 5000 });
    expect(store.renew(r.lease.id, r.lease.token + 1, 1000)).toBe(false);
    store.release(r.lease.id, r.lease.token);
    expect(store.renew(r.lease.id, r.lease.token, 1000)).toBe(false);
  });

  it("a person's lease (pid 0) is checked by TTL only", () => {
    const { store, clock } = tempStore();
    expect(store.acquire(req('alice', ['docs/**'], { pid: 0, ttlMs: 10_000 })).ok).toBe(true);
    expect(store.acquire(req('run/a', ['docs/x.md'])).ok).toBe(false);
    clock.now += 10_000;
    expect(store.acquire(req('run/a', ['docs/x.md'])).ok).toBe(true);
  });

  it('the same owner asking again replaces its own lease; another holder is refused', () => {
    const { store } = tempStore();
    const first = store.acquire(req('alice', ['docs/**'], { pid: 0 }));
    const again = store.acquire(req('alice', ['docs/**', 'README.md'], { pid: 0 }));
    expect(first.ok && again.ok).toBe(true);
    expect(store.list()).toHaveLength(1);
    expect(store.list()[0]!.globs).toEqual(['docs/**', 'README.md']);
    expect(store.acquire(req('bob', ['README.md'], { pid: 0 })).ok).toBe(false);
  });

  it('a lease held by a dead pid on this host is taken over at once', () => {
    const { store } = tempStore();
    // A pid far above any pid_max is never a live process.
    expect(store.acquire(req('ghost', ['src/**'], { pid: 2 ** 30 })).ok).toBe(true);
    expect(store.list()).toEqual([]);
    expect(store.acquire(req('run/a', ['src/a.ts'])).ok).toBe(true);
  });

  it('a lease whose pid now belongs to a later process (pid reused) is taken over; its own process keeps it', () => {
    const { store } = tempStore();
    // This very process, recorded as started at another time: what a reused pid looks like.
    expect(store.acquire(req('crashed-runner/a', ['src/**'], { pidStart: 'another-boot:12345' })).ok).toBe(true);
    const taken = store.acquire(req('run/b', ['src/b.ts'], { pid: 0 }));
    expect(taken.ok).toBe(true);
    expect(store.list().map((l) => l.holder)).toEqual(['run/b']);
    // Without a start time given, the store records this process's own: the lease holds.
    const mine = store.acquire(req('run/c', ['lib/**']));
    expect(mine.ok && mine.lease.pidStart).toMatch(/^[\w-]+:\d+$/);
    expect(store.acquire(req('run/d', ['lib/x.ts'], { pid: 0 })).ok).toBe(false);
  });

  it('refuses empty globs and non-positive TTLs (bugs in the caller, not conflicts)', () => {
    const { store } = tempStore();
    expect(() => store.acquire(req('a', []))).toThrow(/at least one glob/);
    expect(() => store.acquire(req('a', ['x'], { ttlMs: 0 }))).toThrow(/positive ttl/);
  });
});

describe('LeaseKeeper', () => {
  it('renews at its interval and reports a takeover once, then stops', async () => {
    const { store, clock } = tempStore();
    const r = store.acquire(req('a', ['x/**'], { ttlMs: 30 }));
    if (!r.ok) throw new Error('refused');
    let renewals = 0;
    const realRenew = store.renew.bind(store);
    store.renew = (id, token, ttl) => {
      renewals++;
      return realRenew(id, token, ttl);
    };
    const lost = new Promise<string>((resolve) => {
      const keeper = new LeaseKeeper(store, r.lease, 30, { onLost: resolve });
      cleanups.push(() => keeper.stop());
    });
    // Wait until at least two renewals went through, then take the lease over.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (renewals >= 2) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    expect(store.isCurrent(r.lease.id, r.lease.token)).toBe(true);
    clock.now += 1_000_000;
    expect(store.acquire(req('b', ['x/y'])).ok).toBe(true);
    expect(await lost).toMatch(/taken over/);
  });
});
