import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/engine/ports.js';
import { HOST, openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
beforeAll(() => {
  repo = tempRepo({ 'src/api/a.ts': 'a\n' });
});
afterAll(() => repo.cleanup());

const out = (r: { stdout?: unknown }) => String(r.stdout ?? '');
const err = (r: { stderr?: unknown }) => String(r.stderr ?? '');

describe('swarm lease / swarm leases', () => {
  it('lists nothing in a repository without state', async () => {
    const r = await swarm(['leases', '--json'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(out(r))).toEqual([]);
  });

  it('acquires from a subfolder, refuses an overlapping acquire with who holds it, lists, renews and releases', async () => {
    const sub = join(repo.dir, 'src', 'api');
    const a = await swarm(['lease', 'acquire', '--holder', 'alice', '--files', 'src/api/**', 'docs/*.md', '--ttl', '30m', '--reason', 'fixing auth by hand'], {
      cwd: sub,
    });
    expect(err(a)).toBe('');
    expect(a.exitCode).toBe(0);
    expect(out(a)).toMatch(/^Leased src\/api\/\*\* docs\/\*\.md to alice until .* \(id \d+, token \d+\)\.$/);

    const b = await swarm(['lease', 'acquire', '--holder', 'bob', '--files', 'src/**'], { cwd: repo.dir });
    expect(b.exitCode).toBe(1);
    expect(err(b)).toMatch(/refused: src\/api\/\*\* docs\/\*\.md held by alice \(fixing auth by hand\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, until /);

    const list = await swarm(['leases', '--json'], { cwd: sub });
    const leases = JSON.parse(out(list)) as Lease[];
    expect(leases).toHaveLength(1);
    expect(leases[0]).toMatchObject({ holder: 'alice', globs: ['src/api/**', 'docs/*.md'], pid: 0, host: HOST, reason: 'fixing auth by hand' });
    expect(leases[0]!.expiresAt - leases[0]!.acquiredAt).toBe(30 * 60_000);

    const table = await swarm(['leases'], { cwd: repo.dir });
    expect(out(table)).toMatch(
      /^HOLDER +FILES +PID +HOST +AGE +EXPIRES +TOKEN +REASON\nalice +src\/api\/\*\* docs\/\*\.md +- +\S+ +\S+ +in 29m\d\ds +\d+ +fixing auth by hand$/,
    );

    const renew = await swarm(['lease', 'renew', '--holder', 'alice', '--ttl', '1h'], { cwd: repo.dir });
    expect(renew.exitCode).toBe(0);
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    expect(store.list()[0]!.expiresAt - store.list()[0]!.renewedAt).toBe(3_600_000);
    // A task of a run is held back the same way a person is.
    expect(store.acquire({ holder: 'run/api', globs: ['src/api/a.ts'], pid: process.pid, host: HOST, ttlMs: 60_000 })).toMatchObject({
      ok: false,
      heldBy: { holder: 'alice' },
    });

    const release = await swarm(['lease', 'release', '--holder', 'alice'], { cwd: repo.dir });
    expect(release.exitCode).toBe(0);
    expect(out(release)).toBe('Released src/api/** docs/*.md (alice).');
    expect(store.acquire({ holder: 'run/api', globs: ['src/api/a.ts'], pid: process.pid, host: HOST, ttlMs: 60_000 }).ok).toBe(true);
    store.close();

    const again = await swarm(['lease', 'release', '--holder', 'alice'], { cwd: repo.dir });
    expect(again.exitCode).toBe(1);
    expect(err(again)).toContain('alice holds no lease');
  });

  it('releases by id, and rejects bad input with exit 2', async () => {
    const a = await swarm(['lease', 'acquire', '--holder', 'tool', '--files', 'docs/**', '--json'], { cwd: repo.dir });
    const lease = JSON.parse(out(a)) as Lease;
    expect(lease).toMatchObject({ holder: 'tool', pid: 0 });
    expect((await swarm(['lease', 'release', '--id', String(lease.id)], { cwd: repo.dir })).exitCode).toBe(0);

    const badTtl = await swarm(['lease', 'acquire', '--holder', 'x', '--files', 'a', '--ttl', 'soon'], { cwd: repo.dir });
    expect(badTtl.exitCode).toBe(2);
    expect(err(badTtl)).toContain('expected a duration such as 90s, 30m or 2h, not "soon"');
    expect((await swarm(['lease', 'acquire', '--holder', 'x'], { cwd: repo.dir })).exitCode).toBe(2);
    expect((await swarm(['lease', 'release'], { cwd: repo.dir })).exitCode).toBe(2);

    const outside = join(repo.dir, '..', `not-a-repo-${process.pid}`);
    mkdirSync(outside, { recursive: true });
    const notRepo = await swarm(['leases'], { cwd: outside, env: { GIT_CEILING_DIRECTORIES: join(repo.dir, '..') } });
    expect(notRepo.exitCode).toBe(2);
    expect(err(notRepo)).toContain('is not inside a git repository');
  });
});
