import { describe, expect, it } from 'vitest';
import picomatch from 'picomatch';
import type { Diagnostic } from '../../src/config/diagnostic.js';
import { buildGraph } from '../../src/graph/build.js';
import type { TaskGraph } from '../../src/graph/task-graph.js';
import { locOf, makeSpec, type TaskInput } from './make-spec.js';

function graphOf(tasks: readonly TaskInput[], opts: Parameters<typeof buildGraph>[1] = {}): TaskGraph {
  const result = buildGraph(makeSpec(tasks), opts);
  if (!result.ok) throw new Error(`expected a graph, got: ${result.error.map((d) => d.message).join('; ')}`);
  return result.value;
}

function errorsOf(tasks: readonly TaskInput[]): Diagnostic[] {
  const result = buildGraph(makeSpec(tasks));
  if (result.ok) throw new Error('expected diagnostics, got a graph');
  return result.error;
}

// a -> {b, c} -> d, and e alone: the diamond every scheduler test starts from.
const DIAMOND: TaskInput[] = [{ id: 'd', deps: ['b', 'c'] }, { id: 'c', deps: ['a'] }, { id: 'b', deps: ['a'] }, { id: 'a' }, { id: 'e' }];

describe('structure', () => {
  it('answers dependencies, dependents, descendants and ancestors, sorted', () => {
    const g = graphOf(DIAMOND);
    expect(g.ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(g.dependencies('d')).toEqual(['b', 'c']);
    expect(g.dependents('a')).toEqual(['b', 'c']);
    expect(g.descendants('a')).toEqual(['b', 'c', 'd']);
    expect(g.descendants('d')).toEqual([]);
    expect(g.ancestors('d')).toEqual(['a', 'b', 'c']);
    expect(g.ordered('a', 'd')).toBe(true);
    expect(g.ordered('d', 'a')).toBe(true);
    expect(g.ordered('b', 'c')).toBe(false);
    expect(g.ordered('e', 'a')).toBe(false);
    expect(() => g.dependencies('nope')).toThrow(/unknown task id/);
  });

  it('orders topologically, smallest ready id first, whatever the file order', () => {
    // z must wait for nothing but comes after m by id; a waits for z.
    const tasks: TaskInput[] = [{ id: 'a', deps: ['z'] }, { id: 'z' }, { id: 'm' }, { id: 'b', deps: ['m'] }];
    expect(graphOf(tasks).order).toEqual(['m', 'b', 'z', 'a']);
    expect(graphOf([...tasks].reverse()).order).toEqual(['m', 'b', 'z', 'a']);
    expect(graphOf(DIAMOND).order).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('layers tasks into waves by their longest dependency chain', () => {
    const g = graphOf(DIAMOND);
    expect(g.waves).toEqual([['a', 'e'], ['b', 'c'], ['d']]);
    expect(g.wave('d')).toBe(2);
    // x waits on a chain of two and on a root: the longer chain decides.
    const h = graphOf([{ id: 'r' }, { id: 's', deps: ['r'] }, { id: 't', deps: ['s'] }, { id: 'x', deps: ['t', 'r'] }]);
    expect(h.waves).toEqual([['r'], ['s'], ['t'], ['x']]);
  });
});

describe('weights and the critical path', () => {
  it('counts tasks when nothing is known; ties go to the smaller id', () => {
    const g = graphOf(DIAMOND);
    expect(g.weightUnit).toBe('tasks');
    expect(DIAMOND.map((t) => [t.id, g.remaining(t.id)])).toEqual([
      ['d', 1],
      ['c', 2],
      ['b', 2],
      ['a', 3],
      ['e', 1],
    ]);
    expect(g.criticalPath).toEqual({ tasks: ['a', 'b', 'd'], length: 3 });
  });

  it('uses estimates, and learnt durations over estimates', () => {
    const est: TaskInput[] = [
      { id: 'a', estimateMs: 10 },
      { id: 'b', deps: ['a'], estimateMs: 5 },
      { id: 'c', deps: ['a'], estimateMs: 20 },
      { id: 'd', deps: ['b', 'c'], estimateMs: 1 },
      { id: 'e', estimateMs: 100 },
    ];
    const g = graphOf(est);
    expect(g.weightUnit).toBe('ms');
    expect(g.remaining('a')).toBe(31);
    expect(g.criticalPath).toEqual({ tasks: ['e'], length: 100 });
    const learnt = graphOf(est, { durations: new Map([['e', 2]]) });
    expect(learnt.weight('e')).toBe(2);
    expect(learnt.criticalPath).toEqual({ tasks: ['a', 'c', 'd'], length: 31 });
  });

  it('weighs a task with no estimate as the median of the known ones', () => {
    const g = graphOf([
      { id: 'a', estimateMs: 10 },
      { id: 'b', deps: ['a'] },
      { id: 'c', deps: ['b'], estimateMs: 30 },
    ]);
    expect(g.weight('b')).toBe(20);
    expect(g.criticalPath).toEqual({ tasks: ['a', 'b', 'c'], length: 60 });
  });
});

describe('conflicts', () => {
  const TASKS: TaskInput[] = [
    { id: 'x', files: ['src/**'] },
    { id: 'y', files: ['src/api/*.ts'] },
    { id: 'z', files: ['docs/*.md'] },
    { id: 'w', deps: ['x'], files: ['src/api/x.ts'] },
  ];

  it('lists every unordered pair whose globs overlap, and skips ordered ones', () => {
    const g = graphOf(TASKS);
    expect(g.conflicts).toEqual([
      { a: 'w', b: 'y', globA: 'src/api/x.ts', globB: 'src/api/*.ts' },
      { a: 'x', b: 'y', globA: 'src/**', globB: 'src/api/*.ts' },
    ]);
    expect(g.conflictsOf('y')).toEqual(['w', 'x']);
    expect(g.conflictsOf('z')).toEqual([]);
  });

  it('names a tracked file both tasks match, and catches overlaps only a file reveals', () => {
    const g = graphOf(
      [
        { id: 'p', files: ['lib/**'] },
        { id: 'q', files: ['lib/*.js'] },
        // `!(...)` is approximated by the analysis; the tracked file makes it certain.
        { id: 'r', files: ['docs/!(old)/*.md'] },
        { id: 's', files: ['docs/new/*.md'] },
      ],
      { trackedFiles: ['lib/z.js', 'lib/a.js', 'docs/new/a.md', 'README.md'] },
    );
    expect(g.conflicts).toEqual([
      { a: 'p', b: 'q', globA: 'lib/**', globB: 'lib/*.js', path: 'lib/a.js' },
      { a: 'r', b: 's', globA: 'docs/!(old)/*.md', globB: 'docs/new/*.md', path: 'docs/new/a.md' },
    ]);
  });

  it('finds tracked-file conflicts exactly as trying every glob on every file would', () => {
    // Shapes that stress the sorted-range lookup: a file named like a folder (`lib`),
    // siblings that sort between `lib` and `lib/` (`lib-x`, `lib.d`), braces whose
    // alternatives have different prefixes, classes, extglobs and deep globstars.
    const shapes = [
      'lib/**',
      'lib',
      'lib-x/*.ts',
      'lib.d/**',
      'lib/a.ts',
      'lib/*.{ts,js}',
      '{lib,docs}/index.*',
      'docs/**/*.md',
      'docs/guide/[a-c]*.md',
      'docs/!(old)/*.md',
      'src/**/test/*.ts',
      'src/a/**',
      'src/*/x.ts',
      '**/README.md',
      'src/a/b/c.ts',
    ];
    const paths = [
      'lib',
      'lib/a.ts',
      'lib/b.js',
      'lib/c/d.ts',
      'lib-x/a.ts',
      'lib.d/x',
      'lib0',
      'docs/index.md',
      'docs/guide/a.md',
      'docs/guide/d.md',
      'docs/old/a.md',
      'docs/README.md',
      'src/a/x.ts',
      'src/a/b/c.ts',
      'src/a/test/t.ts',
      'src/b/test/u.ts',
      'README.md',
    ];
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 40; round++) {
      const tasks: TaskInput[] = Array.from({ length: 6 }, (_, i) => ({
        id: `t${i}`,
        files: Array.from({ length: 1 + rand(2) }, () => shapes[rand(shapes.length)]!),
      }));
      const tracked = paths.filter(() => rand(3) !== 0);
      const g = graphOf(tasks, { trackedFiles: tracked });
      const byPair = new Map(g.conflicts.map((c) => [`${c.a} ${c.b}`, c]));
      for (let i = 0; i < tasks.length; i++) {
        for (let j = i + 1; j < tasks.length; j++) {
          const matches = (t: TaskInput, p: string) => t.files!.some((glob) => picomatch.isMatch(p, glob, { dot: true }));
          const shared = [...tracked].sort().filter((p) => matches(tasks[i]!, p) && matches(tasks[j]!, p));
          if (shared.length === 0) continue;
          const conflict = byPair.get(`t${i} t${j}`);
          expect(conflict, `t${i} ${tasks[i]!.files} and t${j} ${tasks[j]!.files} share ${shared[0]}`).toBeDefined();
          expect(conflict!.path).toBe(shared[0]);
        }
      }
    }
  });

  it('estimates effective concurrency from waves and conflicts, capped', () => {
    const g = graphOf(TASKS);
    expect(g.effectiveConcurrency(8)).toBe(2);
    expect(g.effectiveConcurrency(1)).toBe(1);
    // Waves {a, e}, {b, c}, {d}; layers from the end {d, e}, {b, c}, {a}: never more than 2.
    expect(graphOf(DIAMOND).effectiveConcurrency(8)).toBe(2);
    // Waves {a, d}, {b, c}; but b, c and d are all sinks: only the layering from the end sees 3.
    const wide = graphOf([{ id: 'a' }, { id: 'b', deps: ['a'] }, { id: 'c', deps: ['a'] }, { id: 'd' }]);
    expect(wide.effectiveConcurrency(8)).toBe(3);
  });
});

describe('a task that owns every file', () => {
  it('is an error when another task could run beside it, pointing at the glob', () => {
    const diags = errorsOf([{ id: 'all', files: ['src/x', '**'] }, { id: 'one' }, { id: 'two', deps: ['all'] }]);
    expect(diags).toHaveLength(1);
    expect(diags[0]!.message).toBe(
      'task "all" owns every file ("**") but could run beside task one; order it against every other task with depends_on, or narrow its files',
    );
    expect(diags[0]!.loc).toEqual(locOf(0, 6));
  });

  it.each(['*', '.', '**/*', './'])('%s counts as every file', (glob) => {
    expect(errorsOf([{ id: 'all', files: [glob] }, { id: 'one' }])[0]!.message).toMatch(/owns every file/);
  });

  it('is fine when it is ordered against every other task', () => {
    const g = graphOf([{ id: 'a' }, { id: 'b' }, { id: 'all', deps: ['a', 'b'], files: ['**'] }, { id: 'c', deps: ['all'] }]);
    expect(g.conflicts).toEqual([]);
  });
});

describe('cycles', () => {
  it('names each cycle in order with one location per edge', () => {
    // a depends on b, b on a; c on d, d on e, e on c.
    const diags = errorsOf([
      { id: 'b', deps: ['a'] },
      { id: 'a', deps: ['b'] },
      { id: 'd', deps: ['e'] },
      { id: 'c', deps: ['d'] },
      { id: 'e', deps: ['c'] },
      { id: 'f', deps: ['a'] },
    ]);
    expect(diags.map((d) => d.message)).toEqual([
      'dependency cycle: a -> b -> a (remove one of these depends_on entries)',
      'dependency cycle: c -> d -> e -> c (remove one of these depends_on entries)',
    ]);
    expect(diags[0]!.loc).toEqual(locOf(1, 1));
    expect(diags[0]!.related).toEqual([
      { message: 'a depends on b', loc: locOf(1, 1) },
      { message: 'b depends on a', loc: locOf(0, 1) },
    ]);
    expect(diags[1]!.related!.map((r) => [r.message, r.loc.line])).toEqual([
      ['c depends on d', locOf(3, 1).line],
      ['d depends on e', locOf(2, 1).line],
      ['e depends on c', locOf(4, 1).line],
    ]);
  });

  it('lists nested cycles that share tasks, deterministically', () => {
    const tasks: TaskInput[] = [
      { id: 'a', deps: ['b'] },
      { id: 'b', deps: ['c', 'a'] },
      { id: 'c', deps: ['a', 'd'] },
      { id: 'd', deps: ['b'] },
    ];
    const expected = [
      'dependency cycle: a -> b -> a (remove one of these depends_on entries)',
      'dependency cycle: a -> b -> c -> a (remove one of these depends_on entries)',
      'dependency cycle: b -> c -> d -> b (remove one of these depends_on entries)',
    ];
    expect(errorsOf(tasks).map((d) => d.message)).toEqual(expected);
    expect(errorsOf([...tasks].reverse()).map((d) => d.message)).toEqual(expected);
    // The related location of "b depends on c" is b's first depends_on entry.
    const nested = errorsOf(tasks)[1]!;
    expect(nested.related!.find((r) => r.message === 'b depends on c')!.loc).toEqual(locOf(1, 1));
  });

  it('stops listing a tangle after 20 cycles and names its members instead', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const diags = errorsOf(ids.map((id) => ({ id, deps: ids.filter((x) => x !== id) })));
    const cycles = diags.filter((d) => d.message.startsWith('dependency cycle'));
    expect(cycles).toHaveLength(20);
    expect(new Set(cycles.map((d) => d.message)).size).toBe(20);
    expect(diags.at(-1)!.message).toBe('tasks a, b, c, d, e, f depend on each other in more than 20 cycles; only the first 20 are listed');
  });

  it('reports a dependency on an unknown task instead of crashing (the loader normally catches it)', () => {
    expect(errorsOf([{ id: 'a', deps: ['ghost'] }]).map((d) => d.message)).toEqual(['task "a" depends on "ghost", which is not a task in this file']);
  });
});

describe('scale', () => {
  it('builds a 2,000-task graph with globs and tracked files quickly', () => {
    const tasks: TaskInput[] = [];
    for (let i = 0; i < 2000; i++) {
      const pkg = `pkg${i % 200}`;
      tasks.push({
        id: `t${String(i).padStart(4, '0')}`,
        deps: i >= 10 ? [`t${String(i - 10).padStart(4, '0')}`] : [],
        files: [`packages/${pkg}/src/m${i}/**`, i % 50 === 0 ? `packages/${pkg}/*.json` : `packages/${pkg}/test/m${i}.test.ts`],
      });
    }
    const tracked = Array.from({ length: 5000 }, (_, k) => `packages/pkg${k % 200}/src/m${k % 2000}/f${k}.ts`);
    const started = performance.now();
    const g = graphOf(tasks, { trackedFiles: tracked });
    const ms = performance.now() - started;
    expect(g.ids).toHaveLength(2000);
    expect(g.waves).toHaveLength(200);
    expect(g.conflicts).toEqual([]);
    expect(ms).toBeLessThan(5000);
  });
});
