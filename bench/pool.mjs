// Benchmark: what starting a task costs in a large repository (50,000 tracked files), with
// a fresh worktree per task and with the pool (a parked worktree moved to the task's start
// point). Each task: start (createWorktree), setup (an `npm ci` stand-in that writes
// node_modules only when it is missing: 2,000 ignored files), commit one file, release.
// Measured on swarm's Git class directly, tasks one after another. Run `npm run build` first.
//   node bench/pool.mjs [--files 50000] [--tasks 8] [--modules 2000]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { arg, git, machine, table, tempRepo, GIT_ENV } from './lib/repo.mjs';

const { Git } = await import('../dist/git/index.js');
const files = arg('files', 50000);
const tasks = arg('tasks', 8);
const modules = arg('modules', 2000);

function bigRepo() {
  const repo = tempRepo({ 'README.md': '# big\n', '.gitignore': 'node_modules/\n' }, 'swarm-bench-big-');
  for (let i = 0; i < files; i++) {
    const dir = join(repo.dir, 'src', `d${i % 500}`);
    if (i < 500) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.ts`), `export const v${i} = ${i};\n`);
  }
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'big');
  return repo;
}

function setup(worktree) {
  const started = performance.now();
  if (!existsSync(join(worktree, 'node_modules'))) {
    for (let i = 0; i < modules; i++) {
      const dir = join(worktree, 'node_modules', `pkg${i % 100}`);
      if (i < 100) mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `m${i}.js`), `module.exports = ${i};\n`);
    }
  }
  return performance.now() - started;
}

async function measure(repoDir, pool, run) {
  const opened = await Git.open(repoDir, { pool, env: GIT_ENV });
  if (!opened.ok) throw new Error(opened.error);
  const g = opened.value;
  const into = `swarm/${run}`;
  await g.ensureIntegrationBranch(into, git(repoDir, 'rev-parse', 'HEAD'), run);
  const t = { start: [], setup: [], release: [] };
  for (let i = 0; i < tasks; i++) {
    const id = `t${i}`;
    const head = await g.integrationHead(into);
    let s = performance.now();
    const wt = await g.createWorktree(run, id, head);
    if (!wt.ok) throw new Error(wt.error);
    t.start.push(performance.now() - s);
    t.setup.push(setup(wt.value.path));
    writeFileSync(join(wt.value.path, `${id}.txt`), `${id}\n`);
    await g.commitAll(wt.value.path, id, { noVerify: true });
    const merged = await g.merge({ run, into, task: id, branch: wt.value.branch, strategy: 'merge', message: id });
    if (merged.kind !== 'merged') throw new Error(`merge: ${merged.kind}`);
    s = performance.now();
    await g.releaseWorktree(wt.value.path);
    t.release.push(performance.now() - s);
  }
  await g.drainPool(run);
  // The first task of either way makes a fresh worktree; the rest show the steady state.
  const mean = (xs) => xs.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, xs.length - 1);
  return { start: mean(t.start), setup: mean(t.setup), release: mean(t.release), first: t.start[0] + t.setup[0] };
}

console.log(`machine: ${machine()}`);
const made = performance.now();
const repo = bigRepo();
console.log(
  `repository: ${files + 2} tracked files (made in ${((performance.now() - made) / 1000).toFixed(0)} s); ${tasks} tasks one after another; setup writes ${modules} ignored files when node_modules is missing\n`,
);
try {
  // Alternated, so load that drifts hits both ways alike.
  const fresh = await measure(repo.dir, 0, 'fresh');
  const pooled = await measure(repo.dir, 1, 'pooled');
  const row = (name, m) => [
    name,
    `${m.start.toFixed(0)} ms`,
    `${m.setup.toFixed(0)} ms`,
    `${m.release.toFixed(0)} ms`,
    `${(m.start + m.setup + m.release).toFixed(0)} ms`,
  ];
  console.log(
    table(['worktrees', 'start (createWorktree)', 'setup', 'release after merge', 'per task'], [row('fresh per task', fresh), row('pool (reuse)', pooled)]),
  );
  console.log(
    `\nstart + setup + release, pool / fresh: ${((pooled.start + pooled.setup + pooled.release) / (fresh.start + fresh.setup + fresh.release)).toFixed(2)}; start alone: ${(pooled.start / fresh.start).toFixed(2)} (means over tasks 2..${tasks}; the first task of each makes a fresh worktree)`,
  );
} finally {
  repo.cleanup();
}
