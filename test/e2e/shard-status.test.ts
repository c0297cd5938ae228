import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordStatusJson } from '../../src/report/record-status.js';
import { commandSpec, events } from '../adversary/run-fixture.js';
import { swarm } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

// `swarm status --remote` on the record real shard runners leave: two `--shard K/2` processes
// in two clones of one bare origin, one task failing; then a third, fresh clone reads the run.

const temps: string[] = [];
afterAll(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function cloneOf(origin: string): string {
  const dir = join(temp('swarm-ss-clone-'), 'repo');
  git(process.cwd(), 'clone', '-q', origin, dir);
  git(dir, 'config', 'user.name', 'swarm test');
  git(dir, 'config', 'user.email', 'test@swarm.invalid');
  return dir;
}

describe('swarm status --remote after a real sharded run', () => {
  it('shows what each shard merged, the failure the failing shard recorded, its dependent blocked, and both shards ended', async () => {
    const scratch = temp('swarm-ss-');
    const agent = join(scratch, 'agent.sh');
    writeFileSync(
      agent,
      ['#!/bin/sh', 'if [ "$SWARM_TASK" = c ]; then echo "c cannot be done" >&2; exit 3; fi', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"'].join('\n'),
    );
    const origin = temp('swarm-ss-origin-');
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    const seed = join(temp('swarm-ss-seed-'), 'repo');
    git(process.cwd(), 'init', '-q', '-b', 'main', seed);
    const tasks = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }, { id: 'd', dependsOn: ['c'] }, { id: 'e' }, { id: 'f' }];
    writeFileSync(
      join(seed, 'swarm.yaml'),
      `${commandSpec({ name: 'ss', agent, top: ['retries: 0', 'concurrency: 2'], agentLines: ['  sandbox: off'], tasks }).join('\n')}\n`,
    );
    git(seed, 'add', '.');
    git(seed, 'commit', '-q', '-m', 'seed');
    git(seed, 'remote', 'add', 'origin', origin);
    git(seed, 'push', '-q', 'origin', 'HEAD:main');

    const clones = [cloneOf(origin), cloneOf(origin)];
    const results = await Promise.all(
      clones.map((dir, i) =>
        swarm(['run', 'swarm.yaml', '--ui', 'json', '--push', 'origin', '--shard', `${i + 1}/2`], { cwd: dir, env: { SWARM_SHARD_POLL_MS: '150' } }),
      ),
    );
    // Which shard's agent ran each task, from the runners' own events.
    const ranIn = new Map<string, string>();
    for (const [i, r] of results.entries()) for (const e of events(r.stdout)) if (e.type === 'task' && e.to === 'running') ranIn.set(e.task, `${i + 1}/2`);
    expect([...ranIn.keys()].sort(), results.map((r) => String(r.stderr)).join('\n')).toEqual(['a', 'b', 'c', 'e', 'f']);

    const reader = cloneOf(origin);
    const out = await swarm(['status', '--remote', 'origin', '--json'], { cwd: reader });
    expect(out.exitCode, String(out.stderr)).toBe(0);
    const s = JSON.parse(String(out.stdout)) as RecordStatusJson;
    const byId = Object.fromEntries(s.tasks.map((t) => [t.id, t]));
    for (const id of ['a', 'b', 'e', 'f']) expect(byId[id], id).toMatchObject({ state: 'merged', shard: ranIn.get(id) });
    // The assignment status shows is the one the runners used.
    for (const [id, shard] of ranIn) expect(byId[id]!.assignedShard, id).toBe(shard);
    expect(byId.d!.assignedShard).toMatch(/^[12]\/2$/);
    expect(byId.c).toMatchObject({ state: 'failed' });
    expect(byId.c!.detail).toMatch(/\S/);
    expect(byId.d).toMatchObject({ state: 'blocked', detail: 'blocked by c (failed)' });
    expect(s.counts).toEqual({ merged: 4, failed: 1, blocked: 1 });
    expect(s.shards.map((x) => x.shard)).toEqual(['1/2', '2/2']);
    for (const sh of s.shards) {
      expect(['finished', 'failed']).toContain(sh.state);
      expect(sh.runner?.host).toBe(hostname());
      expect(sh.heartbeatAgeMs).toBeLessThan(60_000);
    }
    // The shard that ran c ended failed.
    expect(s.shards.find((x) => x.shard === ranIn.get('c'))!.state).toBe('failed');

    const md = await swarm(['report', '--format', 'markdown', '--remote', 'origin'], { cwd: reader });
    expect(md.exitCode, String(md.stderr)).toBe(0);
    expect(String(md.stdout)).toContain('## swarm run `ss`: ❌ failed');
    expect(String(md.stdout)).toContain(`| \`a\` | ✅ merged | ${ranIn.get('a')} |`);
  }, 90_000);
});
