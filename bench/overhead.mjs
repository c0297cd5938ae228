// Benchmark: swarm's own cost. The same independent tasks, a no-op agent, the same
// concurrency, through `swarm run --ui json` and through a plain shell script that does
// the git work by hand (worktree add, commit, merge --no-ff, worktree remove; 4 at a time
// with xargs -P, worktree changes and merges serialized with flock, as swarm does).
// Run `npm run build` first.
//   node bench/overhead.mjs [--tasks 200] [--concurrency 4] [--files 0]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { independent, toSwarmYaml } from './lib/graphs.mjs';
import { AGENTS, arg, env, git, machine, swarmRun, table, tempRepo, timed } from './lib/repo.mjs';

const tasks = arg('tasks', 200);
const concurrency = arg('concurrency', 4);
const extraFiles = arg('files', 0);
const enforce = arg('enforce', 'block');
const graph = independent(tasks);

function repoFiles() {
  const files = { 'README.md': '# bench\n' };
  for (let i = 0; i < extraFiles; i++) files[`src/d${i % 100}/f${i}.txt`] = `file ${i}\n`;
  return files;
}

async function plain() {
  const repo = tempRepo(repoFiles());
  try {
    mkdirSync(join(repo.dir, '.plain', 'wt'), { recursive: true });
    git(repo.dir, 'branch', 'plain-into');
    git(repo.dir, 'worktree', 'add', '-q', join(repo.dir, '.plain', 'merge'), 'plain-into');
    const script = [
      `printf '%s\\n' ${graph.tasks.map((t) => t.id).join(' ')} |`,
      `xargs -P ${concurrency} -n 1 ${join(AGENTS, 'plain-task.sh')} ${JSON.stringify(repo.dir)}`,
    ].join(' ');
    const r = await timed('sh', ['-c', script], { cwd: repo.dir, env: env() });
    if (r.code !== 0) throw new Error(`plain script failed: ${r.stderr.slice(-2000)}`);
    const merged = Number(git(repo.dir, 'rev-list', '--count', '--merges', 'plain-into'));
    if (merged !== tasks) throw new Error(`plain script merged ${merged} of ${tasks}`);
    return r.ms;
  } finally {
    repo.cleanup();
  }
}

async function viaSwarm(extraEnv = {}) {
  const repo = tempRepo(repoFiles());
  try {
    const extra = enforce === 'block' ? [] : ['lease:', `  enforce: ${enforce}`];
    writeFileSync(join(repo.dir, 'swarm.yaml'), toSwarmYaml(graph, { concurrency, agent: [join(AGENTS, 'noop.sh')], estimates: false, extra }));
    git(repo.dir, 'add', 'swarm.yaml');
    git(repo.dir, 'commit', '-q', '-m', 'swarm file');
    const r = await swarmRun(repo.dir, 'swarm.yaml', { extraEnv });
    const merged = r.events.filter((e) => e.type === 'merge' && e.reason === 'merged').length;
    if (merged !== tasks) throw new Error(`swarm merged ${merged} of ${tasks}`);
    return r;
  } finally {
    repo.cleanup();
  }
}

console.log(`machine: ${machine()}`);
const node = await timed(process.execPath, ['-e', '']);
// Plain before and after swarm, so load that drifts during the run hits both sides alike.
const p1 = await plain();
const s = await viaSwarm();
const s0 = await viaSwarm({ SWARM_POOL: '0' });
const p2 = await plain();
const p = (p1 + p2) / 2;
console.log(`\n${tasks} independent tasks, no-op agent, concurrency ${concurrency}, ${extraFiles + 2} tracked files, lease.enforce ${enforce}\n`);
console.log(
  table(
    ['runner', 'wall', 'per task', 'ratio'],
    [
      ['plain script (mean of before and after)', `${(p / 1000).toFixed(1)} s`, `${(p / tasks).toFixed(0)} ms`, '1.00'],
      ['swarm run --ui json (worktree pool, the default)', `${(s.ms / 1000).toFixed(1)} s`, `${(s.ms / tasks).toFixed(0)} ms`, (s.ms / p).toFixed(2)],
      ['swarm run --ui json, SWARM_POOL=0 (fresh worktrees)', `${(s0.ms / 1000).toFixed(1)} s`, `${(s0.ms / tasks).toFixed(0)} ms`, (s0.ms / p).toFixed(2)],
    ],
  ),
);
console.log(
  `\nplain runs: ${(p1 / 1000).toFixed(1)} s and ${(p2 / 1000).toFixed(1)} s; swarm peak RSS ${s.maxRssMb?.toFixed(0)} MB; node startup ${node.ms.toFixed(0)} ms`,
);
