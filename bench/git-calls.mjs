// Profile, not a timing: which git commands `swarm run` makes, per task, with a no-op agent.
// A `git` wrapper first on PATH logs every call. Run `npm run build` first.
//   node bench/git-calls.mjs [--tasks 20] [--concurrency 4]
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { independent, toSwarmYaml } from './lib/graphs.mjs';
import { AGENTS, arg, git, swarmRun, table, tempRepo } from './lib/repo.mjs';

const tasks = arg('tasks', 20);
const concurrency = arg('concurrency', 4);
const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
const bin = mkdtempSync(join(tmpdir(), 'swarm-gitlog-'));
const log = join(bin, 'calls.log');
writeFileSync(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${log}"\nexec "${realGit}" "$@"\n`);
chmodSync(join(bin, 'git'), 0o755);

const repo = tempRepo();
try {
  writeFileSync(join(repo.dir, 'swarm.yaml'), toSwarmYaml(independent(tasks), { concurrency, agent: [join(AGENTS, 'noop.sh')], estimates: false }));
  git(repo.dir, 'add', 'swarm.yaml');
  git(repo.dir, 'commit', '-q', '-m', 'swarm file');
  await swarmRun(repo.dir, 'swarm.yaml', { extraEnv: { PATH: `${bin}:${process.env.PATH}` } });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const byCommand = new Map();
  for (const line of calls) {
    // The subcommand is the first word that is not an option (nor an option's value after -c).
    const words = line.split(' ');
    let i = 0;
    while (i < words.length && words[i].startsWith('-')) i += words[i] === '-c' ? 2 : 1;
    const key = words[i] === 'worktree' || words[i] === 'rev-parse' ? `${words[i]} ${words[i + 1] ?? ''}` : words[i];
    byCommand.set(key, (byCommand.get(key) ?? 0) + 1);
  }
  const rows = [...byCommand].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n, (n / tasks).toFixed(2)]);
  console.log(
    `swarm run, ${tasks} independent tasks, no-op agent, concurrency ${concurrency}: ${calls.length} git calls, ${(calls.length / tasks).toFixed(1)} per task\n`,
  );
  console.log(table(['git command', 'calls', 'per task'], rows));
} finally {
  repo.cleanup();
  rmSync(bin, { recursive: true, force: true });
}
