// Benchmark: templates (for_each). `swarm validate` and `swarm plan --format json` of a file
// whose one template matches 2,000 directories (median of N runs), the same with a
// `containing` filter read by git grep, and one `swarm run` of 1,000 generated no-op tasks:
// wall time per task and the runner's peak RSS. Run `npm run build` first.
//   node bench/templates.mjs [--matches 2000] [--run 1000] [--runs 5] [--concurrency 4]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENTS, arg, CLI, env, git, machine, swarmRun, table, tempRepo } from './lib/repo.mjs';

const matches = arg('matches', 2000);
const runTasks = arg('run', 1000);
const runs = arg('runs', 5);
const concurrency = arg('concurrency', 4);

const pad = (i) => String(i).padStart(4, '0');
function packages(n) {
  const files = { 'README.md': '# bench\n' };
  for (let i = 0; i < n; i++) {
    // Half the packages still call logger.log: what `containing` picks out.
    files[`packages/p${pad(i)}/index.js`] = i % 2 === 0 ? `logger.log("p${pad(i)}")\n` : `console.log("p${pad(i)}")\n`;
    files[`packages/p${pad(i)}/package.json`] = `{ "name": "p${pad(i)}" }\n`;
  }
  return files;
}

function swarmFile({ forEach, sandbox = 'off' }) {
  return [
    'version: 1',
    'name: bench',
    `concurrency: ${concurrency}`,
    'retries: 0',
    'agent:',
    '  kind: command',
    `  sandbox: ${sandbox}`,
    `  command: ${JSON.stringify([join(AGENTS, 'mark.sh')])}`,
    'tasks:',
    '  - id: migrate',
    `    for_each: ${forEach}`,
    '    title: Migrate {{name}}',
    '    prompt: |',
    '      Move {{path}} off logger.log; keep its public API ({{name}}, task {{index}}).',
    '    files: ["{{path}}/**"]',
    '    env: { BENCH_DIR: "{{path}}" }',
    '  - id: changelog',
    '    prompt: Write the changelog.',
    '    files: ["changelog/**"]',
    '    env: { BENCH_DIR: changelog }',
    '    depends_on: [migrate]',
    '',
  ].join('\n');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** Wall time, and the CPU time (user + system, git's included) that /usr/bin/time saw: on a busy machine the second says more. */
function time(dir, args) {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'CPU_S=%U %S', process.execPath, CLI, ...args], { cwd: dir, encoding: 'utf8', env: env(), maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`swarm ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const [user, sys] = (/CPU_S=([\d.]+) ([\d.]+)/.exec(r.stderr) ?? [0, '0', '0']).slice(1).map(Number);
  return { ms, cpuMs: (user + sys) * 1000, stdout: r.stdout };
}

console.log(`machine: ${machine()}`);
const rows = [];
{
  const repo = tempRepo(packages(matches));
  try {
    for (const [label, forEach] of [
      [`dirs, ${matches} matches`, '{ dirs: "packages/*" }'],
      [`files + containing, ${matches / 2} matches`, '{ files: "packages/*/index.js", containing: "logger\\\\.log\\\\(" }'],
    ]) {
      writeFileSync(join(repo.dir, 'swarm.yaml'), swarmFile({ forEach }));
      git(repo.dir, 'add', 'swarm.yaml');
      git(repo.dir, 'commit', '-q', '-m', label);
      const series = { validate: [], validateCpu: [], plan: [], planCpu: [], node: [] };
      let planned;
      for (let i = 0; i < runs; i++) {
        // Interleaved with node alone, so a change in the machine's load hits every series alike.
        series.node.push(time(repo.dir, ['--version']).ms);
        const v = time(repo.dir, ['validate', 'swarm.yaml']);
        series.validate.push(v.ms);
        series.validateCpu.push(v.cpuMs);
        const p = time(repo.dir, ['plan', 'swarm.yaml', '--format', 'json']);
        series.plan.push(p.ms);
        series.planCpu.push(p.cpuMs);
        planned = JSON.parse(p.stdout);
      }
      const ms = (xs) => `${median(xs).toFixed(0)} ms`;
      rows.push([
        label,
        `${planned.tasks.length} tasks`,
        `${ms(series.validate)} (CPU ${ms(series.validateCpu)})`,
        `${ms(series.plan)} (CPU ${ms(series.planCpu)})`,
        ms(series.node),
      ]);
    }
  } finally {
    repo.cleanup();
  }
}
console.log(`\nvalidate and plan, median of ${runs}\n`);
console.log(table(['template', 'expands to', 'swarm validate', 'swarm plan --format json', 'swarm --version'], rows));

if (runTasks > 0) {
  const repo = tempRepo(packages(runTasks));
  try {
    writeFileSync(join(repo.dir, 'swarm.yaml'), swarmFile({ forEach: '{ dirs: "packages/*" }' }));
    git(repo.dir, 'add', 'swarm.yaml');
    git(repo.dir, 'commit', '-q', '-m', 'swarm file');
    const r = await swarmRun(repo.dir, 'swarm.yaml');
    const finished = r.events.find((e) => e.type === 'run' && e.reason === 'finished');
    const n = runTasks + 1;
    if (finished?.merged !== n) throw new Error(`merged ${finished?.merged} of ${n}`);
    console.log(`\nswarm run of ${runTasks} generated no-op tasks (and one that depends on them all), concurrency ${concurrency}, sandbox off\n`);
    console.log(
      table(
        ['tasks', 'wall', 'per task', 'peak RSS', 'events'],
        [[n, `${(r.ms / 1000).toFixed(1)} s`, `${(r.ms / n).toFixed(0)} ms`, `${r.maxRssMb.toFixed(0)} MB`, r.events.length]],
      ),
    );
  } finally {
    repo.cleanup();
  }
}
