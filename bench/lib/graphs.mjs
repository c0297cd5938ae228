// Graph shapes for the benchmarks, with task durations. Deterministic for a given seed.
// A graph is { tasks: [{ id, deps: [id], ms }] } listed in a topological order.
import { rng } from '../graph-gen.mjs';

const id = (i) => `t${String(i).padStart(4, '0')}`;

/** `n` tasks in a row. */
export function chain(n, ms = () => 100) {
  return { tasks: Array.from({ length: n }, (_, i) => ({ id: id(i), deps: i === 0 ? [] : [id(i - 1)], ms: ms(i) })) };
}

/** One root, `n - 2` independent middles, one sink that needs them all. */
export function fanOut(n, ms = () => 100) {
  const tasks = [{ id: id(0), deps: [], ms: ms(0) }];
  for (let i = 1; i < n - 1; i++) tasks.push({ id: id(i), deps: [id(0)], ms: ms(i) });
  if (n > 1) tasks.push({ id: id(n - 1), deps: tasks.slice(1).map((t) => t.id), ms: ms(n - 1) });
  return { tasks };
}

/** Diamonds stacked: root -> width parallel tasks -> join -> width parallel ... */
export function diamonds(n, width = 4, ms = () => 100) {
  const tasks = [];
  let join;
  for (let i = 0; i < n; ) {
    const layer = [];
    for (let k = 0; k < width && i < n; k++, i++) {
      tasks.push({ id: id(i), deps: join ? [join] : [], ms: ms(i) });
      layer.push(id(i));
    }
    if (i >= n) break;
    tasks.push({ id: id(i), deps: layer, ms: ms(i) });
    join = id(i++);
  }
  return { tasks };
}

/** `n` tasks with no dependencies at all. */
export function independent(n, ms = () => 100) {
  return { tasks: Array.from({ length: n }, (_, i) => ({ id: id(i), deps: [], ms: ms(i) })) };
}

/**
 * A random DAG: each task depends on up to `maxDeps` of the `window` tasks before it, so
 * there are long chains and wide layers. Durations uniform in [minMs, maxMs].
 */
export function randomDag(n, { seed = 1, maxDeps = 3, window = 12, minMs = 50, maxMs = 500, sources = 4 } = {}) {
  const rand = rng(seed);
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    const k = i < sources ? 0 : rand(maxDeps + 1);
    for (let j = 0; j < k; j++) deps.add(id(i - 1 - rand(Math.min(i, window))));
    tasks.push({ id: id(i), deps: [...deps].sort(), ms: minMs + rand(maxMs - minMs + 1) });
  }
  return { tasks };
}

/** The heaviest path, inclusive (ms). */
export function criticalPath(graph) {
  const finish = new Map();
  for (const t of graph.tasks) finish.set(t.id, t.ms + Math.max(0, ...t.deps.map((d) => finish.get(d))));
  return Math.max(0, ...finish.values());
}

/** How many tasks the heaviest path has: the links whose start and merge swarm pays in a row. */
export function criticalDepth(graph) {
  const best = new Map();
  for (const t of graph.tasks) {
    let prev = { ms: 0, n: 0 };
    for (const d of t.deps) if (best.get(d).ms > prev.ms) prev = best.get(d);
    best.set(t.id, { ms: prev.ms + t.ms, n: prev.n + 1 });
  }
  let top = { ms: 0, n: 0 };
  for (const v of best.values()) if (v.ms > top.ms) top = v;
  return top.n;
}

export function totalWork(graph) {
  return graph.tasks.reduce((s, t) => s + t.ms, 0);
}

/** No schedule on `slots` machines can finish sooner. */
export function lowerBound(graph, slots) {
  return Math.max(criticalPath(graph), totalWork(graph) / slots);
}

/**
 * List scheduling on `slots` machines with no overhead at all: whenever a slot is free,
 * start the ready task first in `order` (critical-path: longest remaining path first,
 * ties by id, as swarm does; fifo: by id). What the order alone would give.
 */
export function simulate(graph, slots, order = 'critical-path') {
  const remaining = new Map();
  const dependents = new Map(graph.tasks.map((t) => [t.id, []]));
  for (const t of graph.tasks) for (const d of t.deps) dependents.get(d).push(t.id);
  for (const t of [...graph.tasks].reverse()) remaining.set(t.id, t.ms + Math.max(0, ...dependents.get(t.id).map((d) => remaining.get(d))));
  const byId = new Map(graph.tasks.map((t) => [t.id, t]));
  const left = new Map(graph.tasks.map((t) => [t.id, t.deps.length]));
  const ready = graph.tasks.filter((t) => t.deps.length === 0).map((t) => t.id);
  const running = []; // { id, end }
  let now = 0;
  let done = 0;
  const pick = () => {
    ready.sort((a, b) => (order === 'fifo' ? 0 : remaining.get(b) - remaining.get(a)) || (a < b ? -1 : 1));
    return ready.shift();
  };
  while (done < graph.tasks.length) {
    while (running.length < slots && ready.length > 0) {
      const next = pick();
      running.push({ id: next, end: now + byId.get(next).ms });
    }
    running.sort((a, b) => a.end - b.end);
    const first = running.shift();
    now = first.end;
    done++;
    for (const d of dependents.get(first.id)) {
      left.set(d, left.get(d) - 1);
      if (left.get(d) === 0) ready.push(d);
    }
  }
  return now;
}

/** A swarm.yaml for the graph; each task's duration is its `estimate` and its agent's BENCH_MS. */
export function toSwarmYaml(graph, { name = 'bench', concurrency = 4, agent, estimates = true, extra = [] }) {
  const lines = [
    'version: 1',
    `name: ${name}`,
    `concurrency: ${concurrency}`,
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: ${JSON.stringify(agent)}`,
    ...extra,
    'tasks:',
  ];
  for (const t of graph.tasks) {
    lines.push(`  - id: ${t.id}`, `    prompt: Task ${t.id}.`, `    files: ["bench-${t.id}.txt"]`);
    if (t.deps.length > 0) lines.push(`    depends_on: [${t.deps.join(', ')}]`);
    if (estimates) lines.push(`    estimate: ${t.ms}ms`);
    lines.push(`    env: { BENCH_MS: "${t.ms}" }`);
  }
  return `${lines.join('\n')}\n`;
}

/** The same graph for `make -j`: one target per task, sleeping its duration. */
export function toMakefile(graph) {
  const lines = ['.PHONY: all', `all: ${graph.tasks.map((t) => t.id).join(' ')}`, ''];
  for (const t of graph.tasks) {
    lines.push(`${t.id}: ${t.deps.join(' ')}`, `\t@sleep ${(t.ms / 1000).toFixed(3)}`, `.PHONY: ${t.id}`, '');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One root, a fan-out of `width` tasks after it, `joins` tasks each over a contiguous slice
 * of the fan-out, and one final task over the joins: `width + joins + 2` tasks, a critical
 * path of four.
 */
export function fanJoins(width, joins, ms = () => 100) {
  const tasks = [{ id: id(0), deps: [], ms: ms(0) }];
  for (let i = 1; i <= width; i++) tasks.push({ id: id(i), deps: [id(0)], ms: ms(i) });
  const joinIds = [];
  for (let j = 0; j < joins; j++) {
    const from = 1 + Math.floor((j * width) / joins);
    const to = 1 + Math.floor(((j + 1) * width) / joins);
    const at = width + 1 + j;
    tasks.push({ id: id(at), deps: Array.from({ length: to - from }, (_, k) => id(from + k)), ms: ms(at) });
    joinIds.push(id(at));
  }
  const last = width + joins + 1;
  tasks.push({ id: id(last), deps: joinIds, ms: ms(last) });
  return { tasks };
}

/**
 * `simulate` for shards: each task runs only in its shard (`shardOf`), each shard has
 * `slots` slots and its own list order (longest remaining path first); a task starts when
 * its dependencies, wherever they ran, are done. What the split alone would give.
 */
export function simulateShards(graph, slots, shardOf) {
  const dependents = new Map(graph.tasks.map((t) => [t.id, []]));
  for (const t of graph.tasks) for (const d of t.deps) dependents.get(d).push(t.id);
  const remaining = new Map();
  for (const t of [...graph.tasks].reverse()) remaining.set(t.id, t.ms + Math.max(0, ...dependents.get(t.id).map((d) => remaining.get(d))));
  const byId = new Map(graph.tasks.map((t) => [t.id, t]));
  const left = new Map(graph.tasks.map((t) => [t.id, t.deps.length]));
  const ready = graph.tasks.filter((t) => t.deps.length === 0).map((t) => t.id);
  const busy = new Map(); // shard -> running count
  const running = []; // { id, end }
  let now = 0;
  let done = 0;
  while (done < graph.tasks.length) {
    ready.sort((a, b) => remaining.get(b) - remaining.get(a) || (a < b ? -1 : 1));
    for (let i = 0; i < ready.length; ) {
      const s = shardOf(ready[i]);
      if ((busy.get(s) ?? 0) >= slots) {
        i++;
        continue;
      }
      const [next] = ready.splice(i, 1);
      busy.set(s, (busy.get(s) ?? 0) + 1);
      running.push({ id: next, end: now + byId.get(next).ms });
    }
    running.sort((a, b) => a.end - b.end);
    const first = running.shift();
    now = first.end;
    done++;
    busy.set(shardOf(first.id), busy.get(shardOf(first.id)) - 1);
    for (const d of dependents.get(first.id)) {
      left.set(d, left.get(d) - 1);
      if (left.get(d) === 0) ready.push(d);
    }
  }
  return now;
}
