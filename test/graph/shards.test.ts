import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/graph/build.js';
import { conflictGroups, parseShard, planShards, type ShardPlan } from '../../src/graph/shards.js';
import type { TaskGraph } from '../../src/graph/task-graph.js';
import { makeSpec, type TaskInput } from './make-spec.js';

function graphOf(tasks: readonly TaskInput[]): TaskGraph {
  const result = buildGraph(makeSpec(tasks));
  if (!result.ok) throw new Error(`expected a graph, got: ${result.error.map((d) => d.message).join('; ')}`);
  return result.value;
}

/** Each shard as [tasks, load], for one readable assertion. */
const summary = (plan: ShardPlan) => plan.shards.map((s) => [s.index, s.tasks, s.load]);

/** A seeded shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const pad = (k: number) => String(k).padStart(2, '0');

describe('planShards', () => {
  it('spreads 12 equal, independent tasks 4/4/4, each shard sorted by id, and shardOf agrees', () => {
    const g = graphOf(Array.from({ length: 12 }, (_, k) => ({ id: `t${pad(k)}` })));
    const plan = planShards(g, 3);
    expect(plan.count).toBe(3);
    expect(plan.unit).toBe('tasks');
    // Longest first, ties by id, onto the least-loaded shard, ties to the lowest index: round robin.
    expect(summary(plan)).toEqual([
      [1, ['t00', 't03', 't06', 't09'], 4],
      [2, ['t01', 't04', 't07', 't10'], 4],
      [3, ['t02', 't05', 't08', 't11'], 4],
    ]);
    for (const s of plan.shards) for (const id of s.tasks) expect(plan.shardOf(id)).toBe(s.index);
    expect(() => plan.shardOf('nope')).toThrow(/unknown task id: nope/);
  });

  it('honours estimates: longest first onto the least-loaded shard (LPT)', () => {
    const min = 60_000;
    // Ids in the opposite order of their weights, so placing in file or id order would differ.
    const g = graphOf([
      { id: 'a', estimateMs: 1 * min },
      { id: 'b', estimateMs: 2 * min },
      { id: 'c', estimateMs: 2 * min },
      { id: 'd', estimateMs: 3 * min },
      { id: 'e', estimateMs: 4 * min },
      { id: 'f', estimateMs: 5 * min },
      { id: 'g', estimateMs: 7 * min },
    ]);
    const plan = planShards(g, 2);
    expect(plan.unit).toBe('ms');
    // g(7) -> 1; f(5) -> 2; e(4) -> 2 (9); d(3) -> 1 (10); b(2) -> 2 (11); c(2) -> 1 (12); a(1) -> 2 (12).
    expect(summary(plan)).toEqual([
      [1, ['c', 'd', 'g'], 12 * min],
      [2, ['a', 'b', 'e', 'f'], 12 * min],
    ]);
  });

  it('a task without an estimate weighs the median of the others, as in the plan', () => {
    const g = graphOf([{ id: 'big', estimateMs: 600_000 }, { id: 'small', estimateMs: 100_000 }, { id: 'unknown' }]);
    // median of 100 s and 600 s is 350 s: big alone, small and unknown together.
    expect(summary(planShards(g, 2))).toEqual([
      [1, ['big'], 600_000],
      [2, ['small', 'unknown'], 450_000],
    ]);
  });

  it('keeps conflicting tasks on one shard, transitively along a chain of overlaps', () => {
    // a x b (src/x/** vs src/x/y/**), b x c (src/x/y/** vs src/x/y/z.ts): a, b and c share a shard,
    // though a and c alone would not. d x e through docs. The rest are free.
    const g = graphOf([
      { id: 'a', files: ['src/x/*.ts', 'src/x/y/**'] },
      { id: 'b', files: ['src/x/y/**'] },
      { id: 'c', files: ['src/x/y/z.ts'] },
      { id: 'd', files: ['docs/**'] },
      { id: 'e', files: ['docs/api.md'] },
      { id: 'f' },
      { id: 'g' },
      { id: 'h' },
    ]);
    expect(g.conflicts.map((c) => `${c.a}x${c.b}`)).toEqual(['axb', 'axc', 'bxc', 'dxe']);
    expect(conflictGroups(g)).toEqual([['a', 'b', 'c'], ['d', 'e'], ['f'], ['g'], ['h']]);
    const plan = planShards(g, 3);
    // abc (3) -> 1; de (2) -> 2; f -> 3 (loads 3 2 1); g -> 3 (3 2 2); h -> 2, the lowest of the least loaded.
    expect(summary(plan)).toEqual([
      [1, ['a', 'b', 'c'], 3],
      [2, ['d', 'e', 'h'], 3],
      [3, ['f', 'g'], 2],
    ]);

    // A chain where only neighbours overlap: p0 x p1 x p2 x p3, through shared files.
    const chain = graphOf([
      { id: 'p0', files: ['lib/0.ts', 'lib/1.ts'] },
      { id: 'p1', files: ['lib/1.ts', 'lib/2.ts'] },
      { id: 'p2', files: ['lib/2.ts', 'lib/3.ts'] },
      { id: 'p3', files: ['lib/3.ts', 'lib/4.ts'] },
      { id: 'q' },
    ]);
    expect(chain.conflicts.map((c) => `${c.a}x${c.b}`)).toEqual(['p0xp1', 'p1xp2', 'p2xp3']);
    const chained = planShards(chain, 4);
    expect(new Set(['p0', 'p1', 'p2', 'p3'].map((id) => chained.shardOf(id))).size).toBe(1);
    expect(chained.shardOf('q')).not.toBe(chained.shardOf('p0'));
  });

  it('does not join tasks whose overlap is ordered by a dependency (they never run at once)', () => {
    const g = graphOf([
      { id: 'a', files: ['src/**'] },
      { id: 'b', files: ['src/b/**'], deps: ['a'] },
    ]);
    expect(g.conflicts).toEqual([]);
    const plan = planShards(g, 2);
    expect(plan.shardOf('a')).toBe(1);
    expect(plan.shardOf('b')).toBe(2);
  });

  it('gives the same plan whatever the order of the tasks in the file', () => {
    const tasks: TaskInput[] = [
      ...Array.from({ length: 20 }, (_, k) => ({ id: `pkg.${pad(k)}`, estimateMs: ((k * 7) % 5) * 60_000 + 60_000, deps: k % 3 === 0 ? ['root'] : [] })),
      { id: 'root', estimateMs: 300_000 },
      { id: 'docs', files: ['docs/**'] },
      { id: 'readme', files: ['docs/README.md'], deps: [] },
      { id: 'x1', files: ['shared/a.ts'] },
      { id: 'x2', files: ['shared/*.ts'] },
    ];
    const reference = planShards(graphOf(tasks), 4);
    for (const seed of [1, 2, 3, 42, 1234]) {
      const plan = planShards(graphOf(shuffled(tasks, seed)), 4);
      expect(summary(plan), `seed ${seed}`).toEqual(summary(reference));
    }
    // The spread is real, not one shard holding everything.
    expect(reference.shards.every((s) => s.tasks.length > 0)).toBe(true);
    expect(reference.shardOf('docs')).toBe(reference.shardOf('readme'));
    expect(reference.shardOf('x1')).toBe(reference.shardOf('x2'));
  });

  it('leaves shards empty when there are fewer groups than shards; one shard takes everything', () => {
    const g = graphOf([
      { id: 'a', files: ['src/**'] },
      { id: 'b', files: ['src/b/*.ts'] },
      { id: 'c', files: ['lib/**'] },
    ]);
    expect(summary(planShards(g, 4))).toEqual([
      [1, ['a', 'b'], 2],
      [2, ['c'], 1],
      [3, [], 0],
      [4, [], 0],
    ]);
    expect(summary(planShards(g, 1))).toEqual([[1, ['a', 'b', 'c'], 3]]);
    expect(summary(planShards(graphOf([]), 2))).toEqual([
      [1, [], 0],
      [2, [], 0],
    ]);
  });

  it('refuses a count outside 1..256 (the caller validates the flag first)', () => {
    const g = graphOf([{ id: 'a' }]);
    expect(() => planShards(g, 0)).toThrow(/1\.\.256/);
    expect(() => planShards(g, 257)).toThrow(/1\.\.256/);
    expect(() => planShards(g, 1.5)).toThrow(/1\.\.256/);
    expect(planShards(g, 256).shards).toHaveLength(256);
  });
});

describe('parseShard', () => {
  it('reads K/N', () => {
    expect(parseShard('--shard', '2/4')).toEqual({ ok: true, value: { index: 2, count: 4 } });
    expect(parseShard('--shard', '1/1')).toEqual({ ok: true, value: { index: 1, count: 1 } });
    expect(parseShard('--shard', '256/256')).toEqual({ ok: true, value: { index: 256, count: 256 } });
    expect(parseShard('--shard', ' 3 / 8 ')).toEqual({ ok: true, value: { index: 3, count: 8 } });
  });

  it('names the flag and says what was expected', () => {
    for (const bad of ['5/4', '0/4', '2', '2/', '/4', 'a/b', '-1/4', '1.5/4', '2/4/8', '', '0/0']) {
      expect(parseShard('--shard', bad)).toEqual({ ok: false, error: `--shard: expected K/N with 1 <= K <= N (e.g. 2/4), got "${bad}"` });
    }
    expect(parseShard('--shard', '3/300')).toEqual({
      ok: false,
      error: '--shard: expected N at most 256 (a GitHub Actions matrix holds at most 256 jobs), got "3/300"',
    });
    expect(parseShard('SWARM_SHARD', '9/8')).toEqual({ ok: false, error: 'SWARM_SHARD: expected K/N with 1 <= K <= N (e.g. 2/4), got "9/8"' });
  });
});
