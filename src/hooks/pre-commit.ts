import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { auditPaths } from './audit.js';
import { ENV } from './env.js';
import { readGuard } from './guard-env.js';
import { recordViolations } from './violations.js';

/**
 * `swarm hook pre-commit`, run by git through the guard hooks dir. In a swarm agent's
 * process it refuses a commit that stages files outside the task's globs (`block`), or
 * records them (`warn`); then, agent or not, it runs the repository's own pre-commit hook
 * and returns its exit code. Returns the exit code for git.
 */
export async function preCommit(args: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<number> {
  let guard: ReturnType<typeof readGuard>;
  try {
    guard = readGuard(env);
  } catch (error) {
    process.stderr.write(`swarm: commit refused: the pre-commit guard cannot read its settings: ${(error as Error).message}\n`);
    return 1;
  }
  if (guard !== undefined) {
    const staged = stagedPaths(cwd);
    const outside = auditPaths(staged, guard.files);
    if (outside.length > 0) {
      await recordViolations(guard, outside, 'pre-commit');
      const owned = guard.files.map((g) => `  ${g}`).join('\n');
      const list = outside.map((p) => `  ${p}`).join('\n');
      if (guard.mode === 'block') {
        process.stderr.write(
          `swarm: commit refused: task ${guard.task ?? '?'} staged files outside the globs it owns.\n` +
            `Outside:\n${list}\nOwned:\n${owned}\n` +
            `Unstage them (git restore --staged <path>) and leave them to their owner.\n`,
        );
        return 1;
      }
      process.stderr.write(`swarm: warning: task ${guard.task ?? '?'} commits files outside its globs:\n${list}\n`);
    }
  }
  return chain('pre-commit', args, env, cwd);
}

/**
 * Staged paths, both names of a rename or copy. `-z` keeps odd file names intact. While a
 * merge is in progress (the integration branch merged into the task to resolve a
 * conflict), the index holds the other tasks' work too: compare it with MERGE_HEAD, so
 * only what this task adds on top of the integration branch is judged.
 */
export function stagedPaths(cwd: string): string[] {
  const mergeHead = spawnSync('git', ['rev-parse', '-q', '--verify', 'MERGE_HEAD'], { cwd, encoding: 'utf8' });
  const base = mergeHead.status === 0 ? [mergeHead.stdout.trim()] : [];
  const out = execFileSync('git', ['diff', '--cached', '--name-status', '-M', '-z', ...base], { cwd, encoding: 'utf8' });
  const fields = out.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; ) {
    const status = fields[i++];
    if (!status) continue;
    const names = status.startsWith('R') || status.startsWith('C') ? 2 : 1;
    for (let k = 0; k < names && i < fields.length; k++) paths.push(fields[i++]!);
  }
  return paths;
}

/** Runs the repository's own `name` hook if it exists and is executable; its exit code, or 0. */
function chain(name: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): number {
  const dir = env[ENV.origHooksPath] || defaultHooksDir(cwd);
  if (dir === undefined || sameDir(dir, guardHooksDir(env))) return 0;
  const hook = join(dir, name);
  if (!isExecutableFile(hook)) return 0;
  const result = spawnSync(hook, args, { cwd, env, stdio: 'inherit' });
  if (result.error) {
    process.stderr.write(`swarm: could not run the repository's ${name} hook ${hook}: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 1;
}

function defaultHooksDir(cwd: string): string | undefined {
  try {
    return resolve(cwd, execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd, encoding: 'utf8' }).trim(), 'hooks');
  } catch {
    return undefined;
  }
}

/** The hooks dir our own GIT_CONFIG_* override points at, to never chain into ourselves. */
function guardHooksDir(env: NodeJS.ProcessEnv): string | undefined {
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '', 10);
  let dir: string | undefined;
  for (let i = 0; i < count; i++) if (env[`GIT_CONFIG_KEY_${i}`]?.toLowerCase() === 'core.hookspath') dir = env[`GIT_CONFIG_VALUE_${i}`];
  return dir;
}

function sameDir(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
