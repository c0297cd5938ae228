import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { events, readLines, type SpecTask } from '../adversary/run-fixture.js';
import { cleanupShards, cloneOf, landedOnOrigin, runShard, shardOrigin, temp, why } from '../helpers/shards.js';
import { swarm } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

// Issue 16: N shard processes in N clones of one bare origin, meeting only there.

const INTO = 'swarm/sh';
afterEach(cleanupShards);

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

/** The origin of the 32-task run; the agent checks its dependencies' files and logs starts and ends with times. */
function setup(tasks: SpecTask[]): { origin: string; log: string } {
  const scratch = temp('swarm-shard-log-');
  const log = join(scratch, 'log');
  const needs = Object.entries(NEEDS)
    .map(([task, files]) => `  ${task}) for f in ${files}; do [ -f "$f" ] || { echo "missing $f" >&2; exit 3; }; done ;;`)
    .join('\n');
  const agent = [
    `echo "start $SWARM_TASK $(date +%s%N)" >> ${log}`,
    'case "$SWARM_TASK" in',
    needs,
    '  core|docs-*|x*) ;;',
    '  *) [ -f core.txt ] || { echo "missing core.txt" >&2; exit 3; } ;;',
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
  ].join('\n');
  const { origin } = shardOrigin({ name: 'sh', tasks, agent });
  return { origin, log };
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
    const results = await Promise.all(clones.map((dir, i) => runShard(dir, i + 1, 3)));
    for (const [i, r] of results.entries()) expect(r.exitCode, `shard ${i + 1}: ${String(r.stderr)} ${why(r.stdout)}`).toBe(0);

    const landed = landedOnOrigin(origin, INTO);
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

    // No task worktree outlives the run (issue 18, item 9): each clone keeps its checkout and the merge worktree only.
    for (const dir of clones) {
      const left = git(dir, 'worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree '));
      expect(left.map((l) => l.replace(/^worktree .*\/(\.swarm\/worktrees\/sh\/)?/, ''))).toEqual(['repo', '_merge']);
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
