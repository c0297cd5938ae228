import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShardClaim } from '../../src/engine/shard-link.js';
import { claimRefusal, lostRace, parseClaim, ShardRemote } from '../../src/git/shard-remote.js';
import { git } from '../helpers/git-repo.js';

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-shard-remote-'));
  temps.push(dir);
  return dir;
}

const me = (host: string, pid: number, alive = true): ShardClaim => ({ host, pid, alive: () => alive });
const HELD = { host: 'ci-7', pid: 4242, heartbeat: 1_000_000, state: 'running' };

describe('a shard claim', () => {
  it('is read back from its message', () => {
    const message = [
      'swarm: shard 2/3 of r',
      '',
      'Swarm-Run: r',
      'Swarm-Shard: 2/3',
      'Swarm-Runner: ci-7 4242 boot:99',
      'Swarm-Heartbeat: 2026-12-02T03:00:00.000Z',
      'Swarm-State: finished',
    ].join('\n');
    expect(parseClaim(message)).toEqual({ host: 'ci-7', pid: 4242, pidStart: 'boot:99', heartbeat: Date.parse('2026-12-02T03:00:00.000Z'), state: 'finished' });
    expect(parseClaim('swarm: shard 2/3 of r\n\nSwarm-Runner: ci-7 4242\n')).toBeUndefined();
  });

  it('refuses a second job while the first is running with a fresh heartbeat, and only then', () => {
    const refusal = claimRefusal(HELD, me('ci-8', 1), 90_000, HELD.heartbeat + 20_000, '2/3', 'r', 'origin');
    expect(refusal).toBe(
      '--shard: shard 2/3 of the run "r" is running on ci-7 (pid 4242; its last heartbeat on origin 20s ago); a second job of the same shard would race it. If that job is dead, run this again in 70s, when its claim has gone stale',
    );
    // Stale: the job stopped beating.
    expect(claimRefusal(HELD, me('ci-8', 1), 90_000, HELD.heartbeat + 90_000, '2/3', 'r', 'origin')).toBeUndefined();
    // Ended: finished, failed or cancelled jobs hold nothing.
    expect(claimRefusal({ ...HELD, state: 'failed' }, me('ci-8', 1), 90_000, HELD.heartbeat + 1, '2/3', 'r', 'origin')).toBeUndefined();
    // Same host, process gone (a SIGKILLed runner started again): taken at once.
    expect(claimRefusal(HELD, me('ci-7', 1, false), 90_000, HELD.heartbeat + 1, '2/3', 'r', 'origin')).toBeUndefined();
    // Same host, process alive: refused.
    expect(claimRefusal(HELD, me('ci-7', 1, true), 90_000, HELD.heartbeat + 1, '2/3', 'r', 'origin')).toMatch(/would race it/);
  });

  it('is held on a real remote: a second clone is refused until the first ends its claim; two at once, one wins', async () => {
    const origin = temp();
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    const clone = (name: string) => {
      const dir = join(temp(), name);
      git(process.cwd(), 'init', '-q', '-b', 'main', dir);
      git(dir, 'remote', 'add', 'origin', origin);
      git(dir, 'config', 'user.name', 't');
      git(dir, 'config', 'user.email', 't@t');
      return dir;
    };
    const port = (dir: string) => new ShardRemote({ root: dir, remote: 'origin', run: 'r', into: 'swarm/r', index: 1, count: 2 });
    const [a, b] = [port(clone('a')), port(clone('b'))];
    const now = Date.now();
    expect((await a.claim(me('host-a', 1), 90_000, now)).ok).toBe(true);
    const refused = await b.claim(me('host-b', 2), 90_000, now);
    expect(refused.ok ? 'claimed' : refused.error).toMatch(/^--shard: shard 1\/2 of the run "r" is running on host-a \(pid 1;/);
    expect((await a.heartbeat(me('host-a', 1), 'finished', now)).ok).toBe(true);
    expect((await b.claim(me('host-b', 2), 90_000, now)).ok).toBe(true);
    // The ref holds b's claim now: a's next heartbeat is refused (taken over).
    const lost = await a.heartbeat(me('host-a', 1), 'running', now);
    expect(lost.ok).toBe(false);
    // A lost compare-and-swap, told apart from a remote that could not be reached (cli/shard.ts stops only on the former).
    expect(lostRace(lost.ok ? '' : lost.error)).toBe(true);
    const gone = new ShardRemote({ root: clone('e'), remote: join(temp(), 'nowhere'), run: 'r', into: 'swarm/r', index: 1, count: 2 });
    const unreachable = await gone.heartbeat(me('host-e', 5), 'running', now);
    expect(unreachable.ok).toBe(false);
    expect(lostRace(unreachable.ok ? '' : unreachable.error)).toBe(false);
    expect(parseClaim(git(origin, 'log', '-1', '--format=%B', 'refs/swarm/r/shards/1-of-2'))).toMatchObject({ host: 'host-b', pid: 2, state: 'running' });

    // Shard 2, claimed by two jobs at the same instant: exactly one gets it.
    const p2 = (dir: string) => new ShardRemote({ root: dir, remote: 'origin', run: 'r', into: 'swarm/r', index: 2, count: 2 });
    const results = await Promise.all([p2(clone('c')).claim(me('host-c', 3), 90_000, now), p2(clone('d')).claim(me('host-d', 4), 90_000, now)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});
