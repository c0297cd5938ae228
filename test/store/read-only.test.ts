import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST, openStore, readLiveLeases } from '../../src/store/index.js';
import { bwrapWorks } from '../adversary/hostile.js';

const BUILT = fileURLToPath(new URL('../../dist/store/read-only.js', import.meta.url));
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** readLiveLeases of the built store, in a process that sees the whole filesystem read-only. */
function readInSandbox(db: string): { holders?: string[]; error?: string } {
  const script = `const { readLiveLeases } = await import(${JSON.stringify(BUILT)}); try { process.stdout.write(JSON.stringify({ holders: readLiveLeases(process.argv[1]).map((l) => l.holder) })); } catch (e) { process.stdout.write(JSON.stringify({ error: e.message })); }`;
  const out = execFileSync(
    'bwrap',
    ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', process.execPath, '--input-type=module', '-e', script, db],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as { holders?: string[]; error?: string };
}

describe.skipIf(!bwrapWorks())('reading leases without writing state.db', () => {
  it('works on a read-only mount while the runner holds the database open, and fails (the hook then refuses) once nobody does', () => {
    dir = mkdtempSync(join(tmpdir(), 'swarm-ro-'));
    const db = join(dir, 'state.db');
    const store = openStore(db);
    store.acquire({ holder: 'run/api', globs: ['src/api/**'], pid: process.pid, host: HOST, ttlMs: 60_000 });
    try {
      expect(readInSandbox(db)).toEqual({ holders: ['run/api'] });
      expect(readLiveLeases(db).map((l) => l.holder)).toEqual(['run/api']);
    } finally {
      store.close();
    }
    // Closed: SQLite removed the -shm file and cannot make one on a read-only mount.
    expect(readInSandbox(db).error).toMatch(/unable to open database file/);
  });
});
