import { execFile } from 'node:child_process';
import { posix } from 'node:path';
import { cleanEnv } from '../git/exec.js';

/**
 * Symlinks committed in `worktree` between `from` and HEAD whose target lies outside the
 * repository: an absolute target, or a relative one that climbs above the root once
 * normalised (`a/../../x`). Such a link, merged, lets whatever later writes through it (a
 * build, the next agent, the user's editor) write outside the checkout. Each comes back as
 * `path -> target`, sorted.
 */
export async function escapingLinks(worktree: string, from: string, to = 'HEAD'): Promise<string[]> {
  const raw = await git(worktree, ['diff', '--raw', '-z', '--no-renames', '--no-abbrev', from, to]);
  const fields = raw.split('\0');
  const links: { path: string; blob: string }[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    // `:oldmode newmode oldsha newsha status`, then the path.
    const [, newMode, , newSha, status] = (fields[i] ?? '').slice(1).split(' ');
    const path = fields[i + 1] ?? '';
    if (newMode === '120000' && status !== 'D' && newSha !== undefined) links.push({ path, blob: newSha });
  }
  const out: string[] = [];
  for (const link of links) {
    const target = await git(worktree, ['cat-file', 'blob', link.blob]);
    if (escapes(link.path, target)) out.push(`${link.path} -> ${target}`);
  }
  return out.sort();
}

/** Whether a link at `path` (relative to the root) with `target` points outside the root. */
export function escapes(path: string, target: string): boolean {
  if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target) || target.startsWith('\\')) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target.replaceAll('\\', '/')));
  return resolved === '..' || resolved.startsWith('../');
}

function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile('git', [...args], { cwd, env: cleanEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      error ? fail(error) : done(stdout),
    );
  });
}
