import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, encoding: 'utf8' });
  return stdout.trim();
}

/**
 * The main worktree's root, from anywhere inside the repository or any of its linked
 * worktrees: they all share one common git dir, and the main worktree is its parent.
 */
export async function findMainRoot(cwd: string): Promise<string> {
  let common: string;
  try {
    common = resolve(cwd, await git(cwd, 'rev-parse', '--git-common-dir'));
  } catch (error) {
    throw new NotARepositoryError(cwd, error);
  }
  if (basename(common) === '.git') return dirname(common);
  // A git dir elsewhere (GIT_DIR, a submodule's .git/modules/x): ask git for the main worktree.
  const list = await git(cwd, 'worktree', 'list', '--porcelain');
  const first = /^worktree (.+)$/m.exec(list)?.[1];
  if (first === undefined) throw new NotARepositoryError(cwd, new Error('git worktree list printed no worktree'));
  return first;
}

/** Not inside a git repository: bad input for every command that needs the state. */
export class NotARepositoryError extends Error {
  constructor(cwd: string, cause: unknown) {
    super(`${cwd} is not inside a git repository (swarm keeps its state in .swarm/ at the repository's root)`, { cause });
    this.name = 'NotARepositoryError';
  }
}

/**
 * `<main worktree>/.swarm/state.db`. Creates `.swarm/` the first time, and lists it in
 * `.git/info/exclude` (never in a tracked file) so it never shows up as untracked.
 */
export async function findStateDb(cwd: string): Promise<string> {
  const root = await findMainRoot(cwd);
  const stateDir = join(root, '.swarm');
  await mkdir(stateDir, { recursive: true });
  await excludeStateDir(cwd).catch(() => undefined);
  return join(stateDir, 'state.db');
}

async function excludeStateDir(cwd: string): Promise<void> {
  const common = resolve(cwd, await git(cwd, 'rev-parse', '--git-common-dir'));
  const exclude = join(common, 'info', 'exclude');
  const text = await readFile(exclude, 'utf8').catch(() => '');
  if (text.split(/\r?\n/).some((line) => line.trim() === '/.swarm/' || line.trim() === '.swarm/' || line.trim() === '/.swarm')) return;
  await mkdir(dirname(exclude), { recursive: true });
  await appendFile(exclude, `${text === '' || text.endsWith('\n') ? '' : '\n'}/.swarm/\n`);
}
