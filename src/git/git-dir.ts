import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * A worktree's own git directory, read from the filesystem instead of asking git (one
 * process less on every commit and merge): `.git` is that folder in the main worktree and
 * a `gitdir: PATH` file in a linked one. Undefined when it is neither; callers then ask git.
 */
export function worktreeGitDir(worktree: string): string | undefined {
  const dotGit = join(worktree, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir: (.+?)\r?\n?$/.exec(readFileSync(dotGit, 'utf8'));
    if (!m?.[1]) return undefined;
    return isAbsolute(m[1]) ? m[1] : resolve(worktree, m[1]);
  } catch {
    return undefined;
  }
}
