// Temporary repositories and timed processes for the benchmarks.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const AGENTS = fileURLToPath(new URL('../agents/', import.meta.url));

export const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@swarm.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@swarm.invalid',
};

export const env = (extra = {}) => ({ ...process.env, ...GIT_ENV, CI: '1', NO_COLOR: '1', ...extra });

export function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, env: env(), encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

/** A repository on `main` with `files` (path -> text) committed. */
export function tempRepo(files = { 'README.md': '# bench\n' }, prefix = 'swarm-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'commit.gpgsign', 'false');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a process to its end; resolves with wall ms, exit code, output. Never rejects. */
export function timed(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

/** `swarm run FILE --ui json` in `dir`, under `/usr/bin/time` for the peak memory. */
export async function swarmRun(dir, file, { args = [], extraEnv = {} } = {}) {
  const r = await timed('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, CLI, 'run', file, '--ui', 'json', ...args], { cwd: dir, env: env(extraEnv) });
  const rss = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  const events = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  if (r.code !== 0) {
    const why = events.filter((e) => (e.type === 'task' && ['failed', 'blocked', 'conflicted'].includes(e.to)) || (e.type === 'log' && e.reason === 'warning'));
    throw new Error(
      `swarm run exited ${r.code}: ${r.stderr.slice(-2000)}\n${why
        .slice(0, 10)
        .map((e) => JSON.stringify(e))
        .join('\n')}`,
    );
  }
  return { ...r, events, maxRssMb: rss ? Number(rss[1]) / 1024 : undefined };
}

export function machine() {
  const [one, five] = loadavg();
  return `${cpus().length} cores, load average ${one.toFixed(1)} (1 min) / ${five.toFixed(1)} (5 min) at the start`;
}

export const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1];
  return typeof fallback === 'number' ? Number(value) : value;
};

export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(all[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...all.slice(1).map(line)].join('\n');
}
