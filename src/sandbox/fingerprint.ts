/**
 * Tamper detection, for agents that run without the sandbox: a fingerprint (content hashes)
 * of what no agent may change, taken before and after each agent attempt. Only what swarm
 * itself does not write while agents run is included, so a difference is the agent's doing
 * (or another agent's that ran at the same time; detection cannot tell which):
 *
 * - `.git/config`, every file under `.git/hooks/` and `.git/info/` (worktree add, commits
 *   and merges write none of them; `ensureExcluded` writes info/exclude before any agent);
 * - every file under `.swarm/hooks/` (written once, before the first agent);
 * - the user's checkout: which branch, which commit, and `git status` with the content of
 *   every file it lists (swarm never touches it; an edit the user makes there while a task
 *   runs is flagged too, and that task is refused);
 * - the run's merge worktree, tracked files only, looked at between two merges (the runner
 *   merges there, and a check may leave build output behind).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cleanEnv } from '../git/exec.js';

export interface FingerprintScope {
  /** The main worktree's root: the user's checkout. */
  readonly root: string;
  /** The git common dir, absolute. */
  readonly commonDir: string;
  /** `.swarm/`, absolute. */
  readonly stateDir: string;
  /** The run's merge worktree, when it is to be looked at. */
  readonly mergeWorktree?: string;
  /** Runs the look at the merge worktree between merges. @default runs it at once */
  readonly betweenMerges?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** What each watched thing looked like: a name such as `.git/config` or `checkout: README.md`, and a hash. */
export type Fingerprint = ReadonlyMap<string, string>;

export async function fingerprint(scope: FingerprintScope): Promise<Fingerprint> {
  const prints = new Map<string, string>();
  const gitName = (path: string) => `.git/${relative(scope.commonDir, path).split('\\').join('/')}`;
  hashFile(prints, join(scope.commonDir, 'config'), gitName);
  hashTree(prints, join(scope.commonDir, 'hooks'), gitName);
  hashTree(prints, join(scope.commonDir, 'info'), gitName);
  hashTree(prints, join(scope.stateDir, 'hooks'), (path) => `.swarm/${relative(scope.stateDir, path).split('\\').join('/')}`);
  await checkoutPrint(prints, scope.root, 'checkout', 'all');
  const merge = scope.mergeWorktree;
  if (merge !== undefined && isDir(merge)) {
    const look = () => checkoutPrint(prints, merge, 'merge worktree', 'no', false);
    await (scope.betweenMerges ? scope.betweenMerges(look) : look());
  }
  return prints;
}

/**
 * What differs between two fingerprints, one line per thing, sorted: `.git/config changed`,
 * `.git/hooks/post-commit added`, `checkout: README.md changed` (a file that appears in or
 * leaves a worktree's status changed, whichever way).
 */
export function differences(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = [];
  const says = (name: string, how: 'added' | 'removed') => `${name} ${STATUS_ENTRY.test(name) ? 'changed' : how}`;
  for (const [name, hash] of after) {
    const was = before.get(name);
    if (was === undefined) out.push(says(name, 'added'));
    else if (was !== hash) out.push(`${name} changed`);
  }
  for (const name of before.keys()) if (!after.has(name)) out.push(says(name, 'removed'));
  return out.sort();
}

const STATUS_ENTRY = /^(checkout|merge worktree): /;

function hashFile(prints: Map<string, string>, path: string, name: (path: string) => string): void {
  const hash = contentHash(path);
  if (hash !== undefined) prints.set(name(path), hash);
}

function hashTree(prints: Map<string, string>, dir: string, name: (path: string) => string): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(prints, path, name);
    else hashFile(prints, path, name);
  }
}

/** Content, type and the executable bit: a hook made executable is a change. */
function contentHash(path: string): string | undefined {
  try {
    const stat = lstatSync(path);
    const h = createHash('sha256');
    if (stat.isSymbolicLink()) h.update(`link\0${readlinkSync(path)}`);
    else if (stat.isDirectory()) h.update('dir');
    else h.update(`file\0${stat.mode & 0o111 ? 'x' : '-'}\0`).update(readFileSync(path));
    return h.digest('hex');
  } catch {
    return undefined;
  }
}

/** A worktree's branch, commit and status, and the content of every file the status lists. */
async function checkoutPrint(prints: Map<string, string>, dir: string, label: string, untracked: 'all' | 'no', withHead = true): Promise<void> {
  if (withHead) {
    prints.set(`${label} branch`, (await git(dir, ['symbolic-ref', '-q', 'HEAD'])).trim() || '(detached)');
    prints.set(`${label} commit`, (await git(dir, ['rev-parse', '-q', '--verify', 'HEAD'])).trim());
  }
  const status = (await git(dir, ['status', '--porcelain=v1', '-z', `--untracked-files=${untracked}`])).split('\0').filter((s) => s !== '');
  for (let i = 0; i < status.length; i++) {
    const entry = status[i]!;
    const code = entry.slice(0, 2);
    const path = entry.slice(3);
    // A rename lists its source next.
    if (code.startsWith('R') || code.startsWith('C')) i++;
    prints.set(`${label}: ${path}`, `${code}\0${contentHash(join(dir, path)) ?? 'gone'}`);
  }
}

function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((done) => {
    // A failing call is a fingerprint too ("" before and after is no change). No optional
    // locks: `git status` must not rewrite the user's index (nor race the runner's in _merge).
    execFile('git', [...args], { cwd, env: cleanEnv({ GIT_OPTIONAL_LOCKS: '0' }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (_error, stdout) =>
      done(stdout ?? ''),
    );
  });
}

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
