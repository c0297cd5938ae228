// Runs every benchmark, one after another (`npm run bench` builds first). Each prints its
// own table; BENCHMARKS.md keeps the last results and what the machine was doing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = [
  'validate.mjs',
  'leases.mjs',
  'git-calls.mjs',
  'overhead.mjs',
  'makespan.mjs',
  'hops.mjs',
  'pool.mjs',
  'scale.mjs',
  'templates.mjs',
  'shards.mjs',
];
for (const b of benches) {
  console.log(`\n## bench/${b}\n`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(b, import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
