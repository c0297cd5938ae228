// Benchmark, not a test: how long `swarm validate` takes on a 2,000-task file inside a git
// repository with the files those tasks own. Run `npm run build` first.
//   node bench/validate.mjs [--tasks 2000] [--runs 7]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSwarm } from './graph-gen.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const tasks = arg('tasks', 2000);
const runs = arg('runs', 7);
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'swarm-bench-'));
try {
  const { yaml, files } = generateSwarm({ tasks });
  for (const f of files) {
    mkdirSync(join(dir, dirname(f)), { recursive: true });
    writeFileSync(join(dir, f), `// ${f}\n`);
  }
  writeFileSync(join(dir, 'swarm.yaml'), yaml);
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'b@x.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'b@x.invalid',
  };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', 'bench'], { cwd: dir, env });

  const time = (args) => {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, r };
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

  // Interleaved, so a change in the machine's load hits every series alike: node alone,
  // swarm up to the point where it would start work (`validate --help` loads the same
  // code), and the whole command.
  const series = { node: [], startup: [], validate: [] };
  let last;
  for (let i = 0; i < runs; i++) {
    series.node.push(time(['-e', '']).ms);
    series.startup.push(time([cli, 'validate', '--help']).ms);
    const { ms, r } = time([cli, 'validate', 'swarm.yaml']);
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      throw new Error(`swarm validate exited ${r.status}`);
    }
    series.validate.push(ms);
    last = r.stdout.trim();
  }
  // `npx swarm` first starts npm, which finds the bin and starts it: npm's own cost, the
  // same for any package, measured from swarm's package folder (where npx finds it).
  const root = fileURLToPath(new URL('..', import.meta.url));
  const launcher = [];
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('npx', ['--no-install', 'swarm', '--version'], { cwd: root, encoding: 'utf8', env });
    const viaNpx = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) break;
    launcher.push(viaNpx - time([cli, '--version']).ms);
  }
  // Where the time goes, measured in this process (modules already loaded): the loader,
  // git ls-files, and the graph (cycles, order, overlap of every pair, tracked files).
  const { loadSpecFile } = await import('../dist/config/load.js');
  const { buildGraph } = await import('../dist/graph/build.js');
  const { trackedFilesFrom } = await import('../dist/cli/project.js');
  const parts = { load: [], lsFiles: [], graph: [] };
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const spec = loadSpecFile(join(dir, 'swarm.yaml'));
    parts.load.push(performance.now() - t);
    t = performance.now();
    const tracked = await trackedFilesFrom(dir);
    parts.lsFiles.push(performance.now() - t);
    t = performance.now();
    const graph = buildGraph(spec.value, { trackedFiles: tracked });
    graph.value.effectiveConcurrency(8);
    parts.graph.push(performance.now() - t);
  }
  const m = (xs) => median(xs).toFixed(0);
  console.log(`${last}`);
  console.log(
    `in-process medians (modules already loaded and warm): load ${median(parts.load).toFixed(0)} ms, git ls-files ${median(parts.lsFiles).toFixed(0)} ms, graph ${median(parts.graph).toFixed(0)} ms`,
  );
  console.log(`medians over ${runs} runs: node alone ${m(series.node)} ms, swarm start-up (validate --help) ${m(series.startup)} ms`);
  console.log(
    `swarm validate, ${tasks} tasks, ${files.length} tracked files: median ${m(series.validate)} ms ` +
      `(min ${Math.min(...series.validate).toFixed(0)}, max ${Math.max(...series.validate).toFixed(0)})`,
  );
  if (launcher.length > 0) console.log(`npx adds npm's own start-up before swarm's: median ${m(launcher)} ms here`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
