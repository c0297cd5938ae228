import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Git, type GitOptions } from '../../src/git/index.js';
import { GIT_ENV, git, tempRepo, type TempRepo } from '../helpers/git-repo.js';

/** A temp repository and a `Git` opened on it, with the tests' fixed identity. */
export async function openRepo(files?: Record<string, string>, options: GitOptions = {}): Promise<{ repo: TempRepo; git: Git }> {
  const repo = tempRepo(files);
  const opened = await Git.open(repo.dir, { ...options, env: { ...GIT_ENV, ...(options.env ?? {}) } });
  if (!opened.ok) throw new Error(opened.error);
  return { repo, git: opened.value };
}

/** Writes a file into a worktree and commits it there; returns the new head. */
export function commitFile(cwd: string, path: string, content: string, message = `edit ${path}`): string {
  writeIn(cwd, path, content);
  git(cwd, 'add', '-A');
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

export function writeIn(dir: string, path: string, content: string): void {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** Subjects of `ref`'s history, newest first, with merges marked. */
export function history(cwd: string, ref: string, ...flags: string[]): string[] {
  return git(cwd, 'log', '--format=%s%x09%P', ...flags, ref)
    .split('\n')
    .map((line) => {
      const [subject, parents = ''] = line.split('\t');
      return parents.split(' ').length > 1 ? `merge: ${subject}` : (subject ?? '');
    });
}

/**
 * Everything of the user's checkout that swarm must leave alone: every file's bytes
 * (outside .git and .swarm), the index file, `git status`, HEAD and the current branch.
 */
export function snapshotCheckout(dir: string): string {
  const hash = createHash('sha256');
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(folder, entry.name);
      const rel = relative(dir, full);
      if (rel === '.git' || rel === '.swarm') continue;
      if (entry.isDirectory()) walk(full);
      else hash.update(`${rel}\0`).update(readFileSync(full)).update('\0');
    }
  };
  walk(dir);
  hash.update(readFileSync(join(dir, '.git', 'index')));
  const status = git(dir, '--no-optional-locks', 'status', '--porcelain=v1', '--untracked-files=all');
  const head = git(dir, 'rev-parse', 'HEAD');
  const branch = git(dir, 'symbolic-ref', 'HEAD');
  const mainRef = git(dir, 'rev-parse', 'refs/heads/main');
  return `${hash.digest('hex')}\n${status}\n${head}\n${branch}\n${mainRef}`;
}

export { GIT_ENV, git };
