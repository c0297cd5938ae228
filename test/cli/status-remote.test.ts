import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../src/config/load.js';
import { taskHash } from '../../src/engine/resume.js';
import type { RecordStatusJson } from '../../src/report/record-status.js';
import { swarm } from '../helpers/cli.js';
import { GIT_ENV } from '../helpers/git-repo.js';

/**
 * A sharded run's record as the shard runners leave it on origin, made here by hand with
 * commit-tree and update-ref (the format is the contract), read by the built CLI in a
 * fresh clone: `swarm status --remote origin` and `swarm report --format markdown --remote origin`.
 */

const RUN = 'shardy';
const INTO = `swarm/${RUN}`;
const NOW = Date.now();

let top: string;
let origin: string;
let writer: string;
let clone: string;
const hashes = new Map<string, string>();

function g(cwd: string, args: string[], env: Record<string, string> = {}, input?: string): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV, ...env }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trim();
}

const SPEC = `version: 1
name: ${RUN}
agent: { kind: command, command: ["true"], sandbox: off }
tasks:
  - { id: a, prompt: Do a., files: ["a/**"] }
  - { id: b, prompt: Do b., files: ["b/**"], depends_on: [a] }
  - { id: c, prompt: Do c., files: ["c/**"] }
  - { id: d, prompt: Do d., files: ["d/**"], depends_on: [c] }
  - { id: e, prompt: Do e., files: ["e/**"] }
  - { id: f, prompt: Do f., files: ["f/**"] }
  - { id: g, prompt: Do g., files: ["g/**"], depends_on: [a] }
`;

/** A commit on `parent` with the same tree and `message`, at `seconds` since the epoch. */
function commit(parent: string | undefined, tree: string, message: string, seconds: number): string {
  const date = `${seconds} +0000`;
  return g(
    writer,
    ['commit-tree', tree, ...(parent !== undefined ? ['-p', parent] : []), '-F', '-'],
    { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date },
    message,
  );
}

function land(parent: string, task: string, hash: string, shard: string, seconds: number): string {
  const tree = g(writer, ['rev-parse', `${parent}^{tree}`]);
  const work = commit(parent, tree, `${task}: the agent's work`, seconds - 1);
  return commit(
    parent,
    tree,
    `swarm(${task}): merge\n\nSwarm-Run: ${RUN}\nSwarm-Task: ${task}\nSwarm-Task-Hash: ${hash}\nSwarm-Commit: ${work}\nSwarm-Shard: ${shard}\n`,
    seconds,
  );
}

function failedRef(task: string, state: 'failed' | 'conflicted', detail: string, hash: string, shard: string, parent: string): void {
  const tree = g(writer, ['rev-parse', `${parent}^{tree}`]);
  const sha = commit(
    parent,
    tree,
    `swarm: task ${task} failed\n\n${detail}\n\nSwarm-Run: ${RUN}\nSwarm-Task: ${task}\nSwarm-Task-Hash: ${hash}\nSwarm-State: ${state}\nSwarm-Shard: ${shard}\n`,
    Math.floor(NOW / 1000) - 60,
  );
  g(writer, ['update-ref', `refs/swarm/${RUN}/failed/${task}`, sha]);
}

function shardRef(k: number, n: number, state: string, runner: string, beatAgoMs: number): void {
  const empty = g(writer, ['hash-object', '-t', 'tree', '-w', '--stdin'], {}, '');
  const beat = new Date(NOW - beatAgoMs).toISOString();
  const sha = commit(
    undefined,
    empty,
    `swarm: shard ${k}/${n} of ${RUN}\n\nSwarm-Run: ${RUN}\nSwarm-Shard: ${k}/${n}\nSwarm-Runner: ${runner}\nSwarm-Heartbeat: ${beat}\nSwarm-State: ${state}\n`,
    Math.floor((NOW - beatAgoMs) / 1000),
  );
  g(writer, ['update-ref', `refs/swarm/${RUN}/shards/${k}-of-${n}`, sha]);
}

beforeAll(() => {
  top = mkdtempSync(join(tmpdir(), 'swarm-status-remote-'));
  origin = join(top, 'origin.git');
  writer = join(top, 'writer');
  clone = join(top, 'clone');
  g(top, ['init', '-q', '--bare', '-b', 'main', origin]);
  g(top, ['init', '-q', '-b', 'main', writer]);
  writeFileSync(join(writer, 'swarm.yaml'), SPEC);
  g(writer, ['add', '-A']);
  g(writer, ['commit', '-q', '-m', 'the swarm file']);
  g(writer, ['remote', 'add', 'origin', origin]);
  const spec = loadSpecFile(join(writer, 'swarm.yaml'));
  if (!spec.ok) throw new Error(JSON.stringify(spec.error));
  for (const t of spec.value.tasks) hashes.set(t.id, taskHash(spec.value, t));

  // a by shard 1, b by shard 2 with a definition the file has changed since, g by shard 1.
  const base = g(writer, ['rev-parse', 'HEAD']);
  const t0 = Math.floor(NOW / 1000) - 600;
  let head = land(base, 'a', hashes.get('a')!, '1/3', t0);
  head = land(head, 'b', '0000olddefinition', '2/3', t0 + 10);
  head = land(head, 'g', hashes.get('g')!, '1/3', t0 + 20);
  g(writer, ['update-ref', `refs/heads/${INTO}`, head]);
  failedRef('c', 'failed', 'check failed: npm test exited 1\n\nFAIL test/c.test.ts > c works', hashes.get('c')!, '1/3', base);
  failedRef('f', 'conflicted', 'conflicted with the integration branch in f/x.ts; the resolution failed', hashes.get('f')!, '2/3', base);
  failedRef('e', 'failed', 'an old failure', hashes.get('e')!, '2/3', base);
  shardRef(1, 3, 'running', 'ci-runner-1 4242', 30_000);
  shardRef(2, 3, 'finished', 'ci-runner-2 77', 120_000);
  g(writer, ['push', '-q', 'origin', 'main', INTO, `refs/swarm/${RUN}/*:refs/swarm/${RUN}/*`]);
  g(top, ['clone', '-q', origin, clone]);
});

afterAll(() => {
  rmSync(top, { recursive: true, force: true });
});

function status(args: string[]) {
  return swarm(['status', ...args], { cwd: clone });
}

describe('swarm status --remote: a sharded run from the record on origin, in a fresh clone', () => {
  it('--format json: each task with its state and shard, the shards with their heartbeats, a redefined task flagged', async () => {
    const out = await status(['--remote', 'origin', '--format', 'json']);
    expect(out.stderr).toBe('');
    expect(out.exitCode).toBe(0);
    const s = JSON.parse(String(out.stdout)) as RecordStatusJson;
    expect(s).toMatchObject({ version: 1, source: 'remote', remote: 'origin', ref: `refs/remotes/origin/${INTO}`, run: { name: RUN, into: INTO } });
    expect(s.head).toBe(g(origin, ['rev-parse', INTO]));
    const byId = Object.fromEntries(s.tasks.map((t) => [t.id, t]));
    expect(s.tasks.map((t) => [t.id, t.state, t.shard ?? null])).toEqual([
      ['a', 'merged', '1/3'],
      ['b', 'merged', '2/3'],
      ['c', 'failed', '1/3'],
      ['d', 'blocked', null],
      ['e', 'failed', '2/3'],
      ['f', 'conflicted', '2/3'],
      ['g', 'merged', '1/3'],
    ]);
    expect(byId.a).toMatchObject({ hash: hashes.get('a'), landed: g(origin, ['rev-parse', `${INTO}~2`]) });
    expect(byId.a!.redefined).toBeUndefined();
    expect(byId.b).toMatchObject({ redefined: true, recordedHash: '0000olddefinition', hash: hashes.get('b') });
    expect(byId.c).toMatchObject({ detail: 'check failed: npm test exited 1', failure: 'check failed: npm test exited 1\n\nFAIL test/c.test.ts > c works' });
    expect(byId.d!.detail).toBe('blocked by c (failed)');
    // The file's assignment over the 3 shards the record shows (LPT, ties to the lowest id and shard).
    expect(s.tasks.map((t) => t.assignedShard)).toEqual(['1/3', '2/3', '3/3', '1/3', '2/3', '3/3', '1/3']);
    expect(s.counts).toEqual({ merged: 3, failed: 2, conflicted: 1, blocked: 1 });
    expect(s.redefined).toBe(1);
    expect(s.shards.map((x) => [x.shard, x.state])).toEqual([
      ['1/3', 'running'],
      ['2/3', 'finished'],
      ['3/3', 'absent'],
    ]);
    expect(s.shards[0]).toMatchObject({ runner: { host: 'ci-runner-1', pid: 4242 }, heartbeat: NOW - 30_000 });
    expect(s.shards[0]!.heartbeatAgeMs).toBeGreaterThanOrEqual(30_000);
    expect(s.shards[0]!.heartbeatAgeMs).toBeLessThan(90_000);
    expect(s.shards[0]!.silent).toBeUndefined();
  });

  it('text: the shards, then every task of the file; a failed record deleted on origin no longer counts', async () => {
    const out = await status(['--remote', 'origin']);
    expect(out.exitCode).toBe(0);
    const text = String(out.stdout);
    expect(text).toContain(`run ${RUN}: from the record on origin/${INTO} (`);
    expect(text).toContain('3/7 merged (1 redefined since), 1 blocked, 1 conflicted, 2 failed');
    expect(text).toMatch(/shard 1\/3 {2}running · heartbeat (3\d|[4-8]\d)s ago · pid 4242 on ci-runner-1\n/);
    expect(text).toMatch(/shard 2\/3 {2}finished · heartbeat 2m\d*s? ago · pid 77 on ci-runner-2\n/);
    expect(text).toContain('shard 3/3  not started (no heartbeat recorded)');
    expect(text).toMatch(/\nb +merged +2\/3 +merged, redefined since: `swarm run` runs it again\n/);
    expect(text).toMatch(/\nc +failed +1\/3 +check failed: npm test exited 1\n/);
    // A task with no record shows the shard the file assigns it to (swarm plan --shards 3).
    expect(text).toMatch(/\nd +blocked +1\/3 +blocked by c \(failed\)\n/);

    // e's runner merged it since, and deleted its failed record on origin: the copy fetched into this clone is stale.
    g(writer, ['push', '-q', 'origin', `:refs/swarm/${RUN}/failed/e`]);
    expect(g(clone, ['rev-parse', '-q', '--verify', `refs/swarm/${RUN}/failed/e`])).toMatch(/^[0-9a-f]{40}$/);
    const again = await status(['--remote', 'origin', '--json']);
    const e = (JSON.parse(String(again.stdout)) as RecordStatusJson).tasks.find((t) => t.id === 'e');
    expect(e).toMatchObject({ state: 'pending', detail: 'not merged yet' });
    g(writer, ['push', '-q', 'origin', `refs/swarm/${RUN}/failed/e:refs/swarm/${RUN}/failed/e`]);
  });

  it('without --remote, a run state.db does not know is shown from the record on the local integration branch (else the fetched one)', async () => {
    const fetched = await status([]);
    expect(fetched.exitCode).toBe(0);
    expect(String(fetched.stdout)).toContain(`run ${RUN}: from the record on origin/${INTO} (`);
    // The local branch, once there is one, even behind origin's.
    g(clone, ['branch', INTO, `origin/${INTO}~1`]);
    const behind = await status([]);
    expect(String(behind.stdout)).toContain(`run ${RUN}: from the record on ${INTO} (`);
    expect(String(behind.stdout)).toContain('2/7 merged (1 redefined since)');
    g(clone, ['fetch', '-q', 'origin', `+refs/heads/${INTO}:refs/heads/${INTO}`]);
    const out = await status([]);
    expect(out.exitCode).toBe(0);
    expect(String(out.stdout)).toContain(`run ${RUN}: from the record on ${INTO} (`);
    expect(String(out.stdout)).toContain('3/7 merged (1 redefined since)');
    const json = JSON.parse(String((await status(['swarm.yaml', '--format', 'json'])).stdout)) as RecordStatusJson;
    expect(json).toMatchObject({ source: 'branch', ref: `refs/heads/${INTO}` });
    expect(json.tasks.find((t) => t.id === 'a')).toMatchObject({ state: 'merged', shard: '1/3' });
  });

  it('report --format markdown --remote: the summary table for a pull request body', async () => {
    const out = await swarm(['report', '--format', 'markdown', '--remote', 'origin'], { cwd: clone });
    expect(out.exitCode).toBe(0);
    const md = String(out.stdout);
    expect(md).toContain(`## swarm run \`${RUN}\`: ❌ failed tasks; shards still running`);
    expect(md).toContain('| `a` | ✅ merged | 1/3 |  |');
    expect(md).toContain('| `d` | ⛔ blocked | 1/3 | blocked by c (failed) |');
    expect(md).toContain('| 3/3 | · not started (no heartbeat recorded) |');
    expect(md).toContain('#### `c`: failed in shard 1/3\n\n```text\ncheck failed: npm test exited 1\n\nFAIL test/c.test.ts > c works\n```');
    expect(md).toContain('attempts, time, cost, logs and the timeline stay with the machine that ran each task');
  });

  it('a run the remote has nothing of: every task not merged yet, exit 0', async () => {
    writeFileSync(join(clone, 'other.yaml'), SPEC.replace(`name: ${RUN}`, 'name: other'));
    const out = await status(['other.yaml', '--remote', 'origin']);
    expect(out.exitCode).toBe(0);
    expect(String(out.stdout)).toContain('run other: no origin/swarm/other yet: nothing of this run has landed there\n  0/7 merged, 7 not merged yet\n');
    expect(String(out.stdout)).toMatch(/\nb +not merged +- +waits for a\n/);
  });

  it('bad input: an unknown remote, html with --remote, a bad --format: exit 2 and a message naming the flag', async () => {
    const bad = await status(['--remote', 'nope']);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toBe(`swarm status: --remote: no remote named "nope" in ${clone} (remotes: origin); expected the name of one, e.g. origin`);
    expect(String(bad.stdout)).toBe('');
    const dash = await status(['--remote=-x']);
    expect(dash.exitCode).toBe(2);
    expect(String(dash.stderr)).toContain('--remote: no remote named "-x"');
    const html = await swarm(['report', '--format', 'html', '--remote', 'origin'], { cwd: clone });
    expect(html.exitCode).toBe(2);
    expect(String(html.stderr)).toContain('swarm report: --remote: --format html needs the timeline');
    const format = await status(['--format', 'yaml']);
    expect(format.exitCode).toBe(2);
    expect(String(format.stderr)).toBe('swarm status: --format: expected text or json, got "yaml"');
    const noFile = await status(['other-run', '--remote', 'origin']);
    expect(noFile.exitCode).toBe(2);
    expect(String(noFile.stderr)).toContain('swarm status: --remote: no swarm file for a run named "other-run" here');
  });
});
