// Benchmark: one run of many tasks (a random DAG, a no-op agent) completes; wall time per
// task and the runner's peak memory (max RSS from /usr/bin/time), for each size.
// Run `npm run build` first.
//   node bench/scale.mjs [--sizes 200,2000] [--concurrency 4]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomDag, toSwarmYaml } from './lib/graphs.mjs';
import { AGENTS, arg, git, machine, swarmRun, table, tempRepo } from './lib/repo.mjs';

const sizes = String(arg('sizes', '200,2000')).split(',').map(Number);
const concurrency = arg('concurrency', 4);

console.log(`machine: ${machine()}`);
const rows = [];
for (const n of sizes) {
  const repo = tempRepo();
  try {
    const graph = randomDag(n, { seed: 7, minMs: 0, maxMs: 0 });
    writeFileSync(join(repo.dir, 'swarm.yaml'), toSwarmYaml(graph, { concurrency, agent: [join(AGENTS, 'noop.sh')], estimates: false }));
    git(repo.dir, 'add', 'swarm.yaml');
    git(repo.dir, 'commit', '-q', '-m', 'swarm file');
    const r = await swarmRun(repo.dir, 'swarm.yaml');
    const finished = r.events.find((e) => e.type === 'run' && e.reason === 'finished');
    if (finished?.merged !== n) throw new Error(`merged ${finished?.merged} of ${n}`);
    const merges = Number(git(repo.dir, 'rev-list', '--count', '--merges', 'swarm/bench'));
    rows.push([
      n,
      `${(r.ms / 1000).toFixed(1)} s`,
      `${(r.ms / n).toFixed(0)} ms`,
      `${r.maxRssMb.toFixed(0)} MB`,
      `${merges} merges, ${r.events.length} events`,
    ]);
    console.log(`  ${n} tasks done`);
  } finally {
    repo.cleanup();
  }
}
console.log(`\nrandom DAG, no-op agent, concurrency ${concurrency}, swarm run --ui json\n`);
console.log(table(['tasks', 'wall', 'per task', 'peak RSS', 'on the integration branch'], rows));
