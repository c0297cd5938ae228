// Benchmark: how early swarm finishes a graph. Random DAGs whose tasks sleep known
// durations (the sleeping agent; durations are given to swarm as `estimate:`), run at
// concurrency 4 and 8, each time with swarm's critical-path order, with FIFO order (the
// same engine, SWARM_PRIORITY=fifo) and with `make -j` on the same graph. Every makespan
// is divided by the lower bound max(critical path, total work / concurrency); the same
// orders simulated with zero overhead are printed beside, to tell order from overhead.
// Run `npm run build` first.
//   node bench/makespan.mjs [--tasks 30] [--graphs 3] [--min 500] [--max 3000] [--slots 4,8]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criticalDepth, criticalPath, lowerBound, randomDag, simulate, toMakefile, toSwarmYaml, totalWork } from './lib/graphs.mjs';
import { AGENTS, arg, env, git, machine, swarmRun, table, tempRepo, timed } from './lib/repo.mjs';

const tasks = arg('tasks', 30);
const graphs = arg('graphs', 3);
const minMs = arg('min', 500);
const maxMs = arg('max', 3000);
const slotsList = String(arg('slots', '4,8')).split(',').map(Number);

async function swarmMakespan(graph, slots, priority) {
  const repo = tempRepo();
  try {
    writeFileSync(join(repo.dir, 'swarm.yaml'), toSwarmYaml(graph, { concurrency: slots, agent: [join(AGENTS, 'sleep.sh')] }));
    git(repo.dir, 'add', 'swarm.yaml');
    git(repo.dir, 'commit', '-q', '-m', 'swarm file');
    const r = await swarmRun(repo.dir, 'swarm.yaml', { extraEnv: priority === 'fifo' ? { SWARM_PRIORITY: 'fifo' } : {} });
    const started = r.events.find((e) => e.type === 'run' && e.reason === 'started');
    const finished = r.events.find((e) => e.type === 'run' && e.reason === 'finished');
    if (finished.merged !== graph.tasks.length) throw new Error(`swarm merged ${finished.merged} of ${graph.tasks.length}`);
    return finished.at - started.at;
  } finally {
    repo.cleanup();
  }
}

async function makeMakespan(graph, slots) {
  const repo = tempRepo({ Makefile: toMakefile(graph) });
  try {
    const r = await timed('make', ['-s', `-j${slots}`, 'all'], { cwd: repo.dir, env: env() });
    if (r.code !== 0) throw new Error(`make failed: ${r.stderr}`);
    return r.ms;
  } finally {
    repo.cleanup();
  }
}

console.log(`machine: ${machine()}`);
console.log(`${graphs} random DAGs of ${tasks} tasks, durations ${minMs}-${maxMs} ms; makespan / lower bound (1.00 = as early as possible)\n`);
const rows = [];
const sums = {};
for (let g = 1; g <= graphs; g++) {
  const graph = randomDag(tasks, { seed: g, minMs, maxMs });
  for (const slots of slotsList) {
    const lb = lowerBound(graph, slots);
    const m = {
      simCp: simulate(graph, slots, 'critical-path'),
      simFifo: simulate(graph, slots, 'fifo'),
      swarmCp: await swarmMakespan(graph, slots, 'critical-path'),
      swarmFifo: await swarmMakespan(graph, slots, 'fifo'),
      make: await makeMakespan(graph, slots),
    };
    const key = `c${slots}`;
    sums[key] ??= { n: 0 };
    sums[key].n++;
    for (const [k, v] of Object.entries(m)) sums[key][k] = (sums[key][k] ?? 0) + v / lb;
    rows.push([
      `seed ${g}`,
      slots,
      `${(criticalPath(graph) / 1000).toFixed(1)} s`,
      `${(totalWork(graph) / slots / 1000).toFixed(1)} s`,
      ...['swarmCp', 'swarmFifo', 'make', 'simCp', 'simFifo'].map((k) => (m[k] / lb).toFixed(2)),
      criticalDepth(graph),
      // What swarm adds over the same order with no overhead, per task on the critical path.
      `${((m.swarmCp - m.simCp) / criticalDepth(graph)).toFixed(0)} ms`,
    ]);
    console.log(`  seed ${g}, ${slots} slots done`);
  }
}
for (const [key, s] of Object.entries(sums)) {
  rows.push([`mean`, key.slice(1), '', '', ...['swarmCp', 'swarmFifo', 'make', 'simCp', 'simFifo'].map((k) => (s[k] / s.n).toFixed(2)), '', '']);
}
console.log(
  table(
    [
      'graph',
      'slots',
      'critical path',
      'work / slots',
      'swarm',
      'swarm FIFO',
      'make -j',
      'order alone',
      'FIFO alone',
      'path tasks',
      'swarm extra per path task',
    ],
    rows,
  ),
);
