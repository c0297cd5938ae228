import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globSetsOverlap } from '../../src/graph/overlap.js';
import { HOST, openStore } from '../../src/store/index.js';

/** Child processes use the built store, as every swarm process does. */
const STORE = pathToFileURL(join(import.meta.dirname, '../../dist/store/index.js')).href;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-lease-procs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node script in the temp folder; `args` reach it as process.argv.slice(2). */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `import { openStore, HOST, LeaseKeeper } from ${JSON.stringify(STORE)};\n${body}`);
  return path;
}

/** The first line a child prints, parsed. */
async function firstLine(child: ResultPromise): Promise<unknown> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return JSON.parse(line);
  throw new Error(`child exited without output: ${(await child).stderr}`);
}

const SETS: readonly (readonly string[])[] = [['src/**'], ['src/a/**'], ['src/a/x.ts'], ['src/b/**'], ['docs/**'], ['docs/*.md', 'src/b/y.ts'], ['test/**']];

interface Grant {
  readonly worker: number;
  readonly set: number;
  readonly token: number;
  readonly t0: string;
  readonly t1: string;
  readonly current: boolean;
  readonly renewed: boolean;
}

describe('leases across processes', () => {
  it('never grants conflicting globs to two holders at once, never surfaces SQLITE_BUSY, and tokens only grow', async () => {
    const db = join(dir, 'hammer.db');
    openStore(db).close(); // migrate once up front, so every worker measures the same thing
    const worker = script(
      'hammer.mjs',
      `
const [db, id, iterations, sets] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), JSON.parse(process.argv[5])];
const store = openStore(db);
const grants = [], errors = [];
let refused = 0;
console.log('ready');
// Start together: wait for the test's go.
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
for (let i = 0; i < iterations; i++) {
  const set = (i * 7 + id * 3) % sets.length;
  try {
    const r = store.acquire({ holder: 'w' + id, globs: sets[set], pid: process.pid, host: HOST, ttlMs: 30000 });
    if (!r.ok) { refused++; continue; }
    const t0 = process.hrtime.bigint();
    // Hold it a little, renewing once in a while, so that holds overlap in time.
    const renewed = i % 3 === 0 ? store.renew(r.lease.id, r.lease.token, 30000) : true;
    const until = t0 + 300000n;
    while (process.hrtime.bigint() < until) {}
    const current = store.isCurrent(r.lease.id, r.lease.token);
    const t1 = process.hrtime.bigint();
    store.release(r.lease.id, r.lease.token);
    grants.push({ worker: id, set, token: r.lease.token, t0: String(t0), t1: String(t1), current, renewed });
  } catch (e) {
    errors.push(String(e && e.code ? e.code + ': ' + e.message : e));
  }
}
store.close();
process.stdout.write(JSON.stringify({ grants, errors, refused }) + '\\n');
`,
    );
    const WORKERS = 6;
    const children = Array.from({ length: WORKERS }, (_, id) =>
      execa(process.execPath, [worker, db, String(id), '120', JSON.stringify(SETS)], { stdin: 'pipe', lines: false }),
    );
    // Gate: every worker is ready before any starts.
    const readers = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
    for (const r of readers) expect((await r.next()).value).toBe('ready');
    for (const c of children) c.stdin!.end('go\n');
    const results = await Promise.all(
      readers.map(async (r) => JSON.parse((await r.next()).value as string) as { grants: Grant[]; errors: string[]; refused: number }),
    );
    await Promise.all(children);

    expect(results.flatMap((r) => r.errors)).toEqual([]);
    const grants = results.flatMap((r) => r.grants);
    const refused = results.reduce((n, r) => n + r.refused, 0);
    // The test means something only if workers really competed.
    expect(grants.length).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
    expect(grants.every((g) => g.current && g.renewed)).toBe(true);

    const tokens = grants.map((g) => g.token);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const r of results) {
      const own = r.grants.map((g) => g.token);
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }

    let conflictingPairs = 0;
    const overlaps: string[] = [];
    for (let i = 0; i < grants.length; i++) {
      for (let j = i + 1; j < grants.length; j++) {
        const a = grants[i]!;
        const b = grants[j]!;
        if (!globSetsOverlap(SETS[a.set]!, SETS[b.set]!)) continue;
        conflictingPairs++;
        const [first, second] = BigInt(a.t0) < BigInt(b.t0) ? [a, b] : [b, a];
        if (BigInt(second.t0) < BigInt(first.t1)) overlaps.push(`${JSON.stringify(first)} overlaps ${JSON.stringify(second)}`);
        // The later holder of conflicting globs always got the larger token.
        if (second.token < first.token) overlaps.push(`token order: ${first.token} before ${second.token}`);
      }
    }
    expect(conflictingPairs).toBeGreaterThan(100);
    expect(overlaps).toEqual([]);
  });

  it('takes over the lease of a holder killed with SIGKILL (pid check on this host)', async () => {
    const db = join(dir, 'kill.db');
    const holder = script(
      'holder.mjs',
      `
const store = openStore(process.argv[2]);
const r = store.acquire({ holder: 'doomed', globs: ['src/**'], pid: process.pid, host: HOST, ttlMs: 3600000 });
console.log(JSON.stringify(r));
setInterval(() => {}, 1000);
`,
    );
    const child = execa(process.execPath, [holder, db], { reject: false });
    const granted = (await firstLine(child)) as { ok: boolean; lease: { id: number; token: number } };
    expect(granted.ok).toBe(true);
    const store = openStore(db);
    try {
      const refused = store.acquire({ holder: 'next', globs: ['src/api/x.ts'], pid: process.pid, host: HOST, ttlMs: 60_000 });
      expect(refused).toMatchObject({ ok: false, heldBy: { holder: 'doomed', pid: child.pid } });
      child.kill('SIGKILL');
      expect((await child).signal).toBe('SIGKILL');
      expect(store.list().map((l) => l.holder)).toEqual([]);
      const taken = store.acquire({ holder: 'next', globs: ['src/api/x.ts'], pid: process.pid, host: HOST, ttlMs: 60_000 });
      expect(taken.ok).toBe(true);
      if (taken.ok) expect(taken.lease.token).toBeGreaterThan(granted.lease.token);
      expect(store.isCurrent(granted.lease.id, granted.lease.token)).toBe(false);
    } finally {
      store.close();
    }
  });

  it('takes over an expired lease of a live holder on another host (TTL only), which then cannot renew', async () => {
    const db = join(dir, 'ttl.db');
    // The holder's clock runs an hour behind: its 1-minute lease is long expired by ours.
    const holder = script(
      'remote.mjs',
      `
const store = openStore(process.argv[2], { now: () => Date.now() - 3600000 });
const r = store.acquire({ holder: 'remote', globs: ['docs/**'], pid: process.pid, host: 'other-host', ttlMs: 60000 });
console.log(JSON.stringify(r));
process.stdin.once('data', () => { console.log(JSON.stringify({ renewed: store.renew(r.lease.id, r.lease.token, 60000) })); process.exit(0); });
`,
    );
    const child = execa(process.execPath, [holder, db], { stdin: 'pipe' });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const granted = JSON.parse((await lines.next()).value as string) as { ok: boolean; lease: { pid: number } };
    expect(granted.ok).toBe(true);
    const store = openStore(db);
    try {
      // The holder is alive, but on "another host" only its expiry counts.
      expect(store.acquire({ holder: 'local', globs: ['docs/a.md'], pid: process.pid, host: HOST, ttlMs: 60_000 }).ok).toBe(true);
      child.stdin!.write('renew\n');
      expect(JSON.parse((await lines.next()).value as string)).toEqual({ renewed: false });
    } finally {
      store.close();
      await child;
    }
  });
});
