// Benchmark: where each task's time goes besides its agent, phase by phase, from the
// event stream of one real run (a random DAG of sleeping agents, as bench/makespan.mjs
// runs it). Meant for work on the makespan: every millisecond here is paid again on
// each link of the critical path. Run `npm run build` first.
//   node bench/hops.mjs [--tasks 30] [--seed 2] [--slots 8] [--min 500] [--max 3000]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomDag, toSwarmYaml } from './lib/graphs.mjs';
import { AGENTS, arg, git, machine, swarmRun, table, tempRepo } from './lib/repo.mjs';

const graph = randomDag(arg('tasks', 30), { seed: arg('seed', 2), minMs: arg('min', 500), maxMs: arg('max', 3000) });
const slots = arg('slots', 8);

const repo = tempRepo();
try {
  writeFileSync(join(repo.dir, 'swarm.yaml'), toSwarmYaml(graph, { concurrency: slots, agent: [join(AGENTS, 'sleep.sh')] }));
  git(repo.dir, 'add', 'swarm.yaml');
  git(repo.dir, 'commit', '-q', '-m', 'swarm file');
  const { events } = await swarmRun(repo.dir, 'swarm.yaml', {});
  const at = (match) => events.find(match)?.at;
  const started = at((e) => e.type === 'run' && e.reason === 'started');

  // Per task, the gaps between the events that bound each phase.
  const phases = {
    'ready after its last dependency merged': [],
    'waiting for a slot': [],
    'worktree and start (to agent spawned)': [],
    'agent beyond its own sleep': [],
    'commit and audit (to queued)': [],
    'waiting in the merge queue': [],
    merge: [],
  };
  for (const t of graph.tasks) {
    const of = (match) => at((e) => e.task === t.id && match(e));
    const depsMerged = Math.max(started, ...t.deps.map((d) => at((e) => e.type === 'task' && e.task === d && e.to === 'merged')));
    const ready = of((e) => e.to === 'ready');
    const starting = of((e) => e.to === 'starting');
    const spawned = of((e) => e.type === 'agent' && e.reason === 'spawned');
    const exited = of((e) => e.type === 'agent' && e.reason === 'exited');
    const queued = of((e) => e.to === 'queued');
    const mergeStarted = of((e) => e.type === 'merge' && e.reason === 'started');
    const merged = of((e) => e.to === 'merged');
    const values = [
      ready - depsMerged,
      starting - ready,
      spawned - starting,
      exited - spawned - t.ms,
      queued - exited,
      mergeStarted - queued,
      merged - mergeStarted,
    ];
    for (const [i, list] of Object.values(phases).entries()) list.push(values[i]);
  }
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  console.log(`machine: ${machine()}`);
  console.log(`${graph.tasks.length} tasks at ${slots} slots; ms per task, over all tasks\n`);
  console.log(
    table(
      ['phase', 'median', 'p90', 'max'],
      Object.entries(phases).map(([name, xs]) => [name, pct(xs, 0.5), pct(xs, 0.9), Math.max(...xs)]),
    ),
  );
} finally {
  repo.cleanup();
}
