import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandSpec, events, readLines, type SpecTask } from '../adversary/run-fixture.js';
import { swarm } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

// Issue 16: N shard processes in N clones of one bare origin, meeting only there.

const INTO = 'swarm/sh';
const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/**
 * 32 tasks: a shared root, a fan-out of 24 packages, two aggregates over packages that land
 * in different shards, overlapping globs (docs/**, docs/b.txt, docs/c/**; x/**, x/two.txt),
 * and a final task over all of them.
 */
function graph(): SpecTask[] {
  const pkgs = Array.from({ length: 24 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
  return [
    { id: 'core', files: ['core.txt'] },
    ...pkgs.map((p) => ({ id: p, files: [`pkg/${p}.txt`], dependsOn: ['core'] })),
    { id: 'agg1', files: ['agg1.txt'], dependsOn: pkgs.slice(0, 8) },
    { id: 'agg2', files: ['agg2.txt'], dependsOn: pkgs.slice(8, 16) },
    { id: 'docs-a', files: ['docs/**'] },
    { id: 'docs-b', files: ['docs/b.txt'] },
    { id: 'docs-c', files: ['docs/c/**'] },
    { id: 'x1', files: ['x/**'] },
    { id: 'x2', files: ['x/two.txt'] },
    { id: 'final', files: ['final.txt'], dependsOn: ['agg1', 'agg2', 'docs-b', 'x2'] },
  ];
}

/** What each task needs to see in its worktree (its dependencies' work). */
const NEEDS: Record<string, string> = {
  agg1: 'pkg/p01.txt pkg/p08.txt',
  agg2: 'pkg/p09.txt pkg/p16.txt',
  final: 'agg1.txt agg2.txt docs/b.txt x/two.txt',
};

/** A bare origin holding main with the swarm file; the agent logs starts and ends with times. */
function setup(tasks: SpecTask[], extraTop: string[] = [], agentExtra: string[] = []): { origin: string; log: string; scratch: string } {
  const scratch = temp('swarm-shards-');
  const log = join(scratch, 'log');
  const agent = join(scratch, 'agent.sh');
  const needs = Object.entries(NEEDS)
    .map(([task, files]) => `  ${task}) for f in ${files}; do [ -f "$f" ] || { echo "missing $f" >&2; exit 3; }; done ;;`)
    .join('\n');
  writeFileSync(
    agent,
    [
      '#!/bin/sh',
      `echo "start $SWARM_TASK $(date +%s%N)" >> ${log}`,
      ...agentExtra,
      'case "$SWARM_TASK" in',
      needs,
      '  *) [ "$SWARM_TASK" = core ] || [ "$SWARM_TASK" = docs-a ] || [ "$SWARM_TASK" = x1 ] || [ "$SWARM_TASK" = docs-b ] || [ "$SWARM_TASK" = docs-c ] || [ "$SWARM_TASK" = x2 ] || [ -f core.txt ] || { echo "missing core.txt" >&2; exit 3; } ;;',
      'esac',
      'sleep 0.3',
      'case "$SWARM_TASK" in',
      '  p*) mkdir -p pkg && echo "$SWARM_TASK done" > "pkg/$SWARM_TASK.txt" ;;',
      '  docs-a) mkdir -p docs && echo a > docs/a.txt ;;',
      '  docs-b) mkdir -p docs && echo b > docs/b.txt ;;',
      '  docs-c) mkdir -p docs/c && echo c > docs/c/c.txt ;;',
      '  x1) mkdir -p x && echo one > x/one.txt ;;',
      '  x2) mkdir -p x && echo two > x/two.txt ;;',
      '  *) echo "$SWARM_TASK done" > "$SWARM_TASK.txt" ;;',
      'esac',
      `echo "end $SWARM_TASK $(date +%s%N)" >> ${log}`,
    ].join('\n'),
  );
  const origin = temp('swarm-origin-');
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  const seed = cloneOf(origin, true);
  writeFileSync(join(seed, 'README.md'), '# shards\n');
  writeFileSync(
    join(seed, 'swarm.yaml'),
    `${commandSpec({ name: 'sh', agent, top: ['retries: 0', 'concurrency: 2', ...extraTop], agentLines: ['  sandbox: off'], tasks }).join('\n')}\n`,
  );
  git(seed, 'add', '.');
  git(seed, 'commit', '-q', '-m', 'seed');
  git(seed, 'push', '-q', 'origin', 'HEAD:main');
  return { origin, log, scratch };
}

function cloneOf(origin: string, empty = false): string {
  const dir = join(temp('swarm-clone-'), 'repo');
  if (empty) {
    git(process.cwd(), 'init', '-q', '-b', 'main', dir);
    git(dir, 'remote', 'add', 'origin', origin);
  } else {
    git(process.cwd(), 'clone', '-q', origin, dir);
  }
  git(dir, 'config', 'user.name', 'swarm test');
  git(dir, 'config', 'user.email', 'test@swarm.invalid');
  return dir;
}

const SHARD_ENV = { SWARM_SHARD_POLL_MS: '150' };

function shard(dir: string, k: number, n: number, env: Record<string, string> = {}) {
  return swarm(['run', 'swarm.yaml', '--ui', 'json', '--push', 'origin', '--shard', `${k}/${n}`], { cwd: dir, env: { ...SHARD_ENV, ...env } });
}

/** `Swarm-Task` trailers on origin's integration branch, first-parent, oldest first. */
function landedOnOrigin(origin: string): string[] {
  return git(origin, 'log', '--first-parent', '--reverse', '--format=%(trailers:key=Swarm-Task,valueonly)', INTO)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** [start, end] of each task's agent runs, from the shared log. */
function intervals(log: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  const open = new Map<string, number>();
  for (const line of readLines(log)) {
    const [what, task = '', ns = '0'] = line.split(' ');
    const t = Number(BigInt(ns) / 1_000_000n);
    if (what === 'start') open.set(task, t);
    else if (what === 'end') out.set(task, [...(out.get(task) ?? []), [open.get(task) ?? t, t]]);
  }
  return out;
}

function overlap(a: [number, number][] = [], b: [number, number][] = []): boolean {
  return a.some(([s1, e1]) => b.some(([s2, e2]) => s1 < e2 && s2 < e1));
}

describe('swarm run --shard K/N: three shards on three clones of one origin', () => {
  it('merges every task exactly once on origin, never runs overlapping tasks at once, and ends with the tree of a one-machine run', async () => {
    const tasks = graph();
    const { origin, log } = setup(tasks);
    const clones = [1, 2, 3].map(() => cloneOf(origin));
    const results = await Promise.all(clones.map((dir, i) => shard(dir, i + 1, 3)));
    for (const [i, r] of results.entries()) expect(r.exitCode, `shard ${i + 1}: ${String(r.stderr)}`).toBe(0);

    const landed = landedOnOrigin(origin);
    expect(landed.slice().sort()).toEqual(tasks.map((t) => t.id).sort());
    // Each agent ran once, in exactly one shard.
    const starts = readLines(log).filter((l) => l.startsWith('start '));
    expect(starts).toHaveLength(tasks.length);

    // The shards really split the work, and some waited on another shard's task.
    const ran = results.map((r) => new Set(readStarted(r.stdout)));
    for (const set of ran) expect(set.size).toBeGreaterThan(4);
    const waitedOnOthers = results.flatMap((r) =>
      events(r.stdout).filter((e) => e.type === 'task' && e.to === 'merged' && /another shard/.test(e.detail ?? '')),
    );
    expect(waitedOnOthers.length).toBeGreaterThan(0);

    // Overlapping globs share a shard, so they never ran at once.
    const spans = intervals(log);
    for (const [a, b] of [
      ['docs-a', 'docs-b'],
      ['docs-a', 'docs-c'],
      ['x1', 'x2'],
    ] as const) {
      expect(overlap(spans.get(a), spans.get(b)), `${a} and ${b} ran at once`).toBe(false);
      expect(ran.findIndex((s) => s.has(a))).toBe(ran.findIndex((s) => s.has(b)));
    }

    // The same graph on one machine ends with the same tree.
    const single = cloneOf(origin);
    const alone = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: single });
    expect(alone.exitCode, String(alone.stderr)).toBe(0);
    expect(git(origin, 'rev-parse', `${INTO}^{tree}`)).toBe(git(single, 'rev-parse', `${INTO}^{tree}`));
  }, 240_000);
});

/** The tasks a shard's agents worked on (from its json events). */
function readStarted(stdout: unknown): string[] {
  return events(stdout)
    .filter((e) => e.type === 'task' && e.to === 'running')
    .map((e) => (e as { task: string }).task);
}
