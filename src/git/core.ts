import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { err, ok, type Result } from '../util/result.js';
import { GitError } from './errors.js';
import { worktreeGitDir } from './git-dir.js';
import { commandFailed, type GitRunner } from './exec.js';
import { addExcludes } from './exclude.js';
import { identityArgs } from './identity.js';
import { hasMergeHead } from './merge.js';
import { Mutex } from './mutex.js';
import { badName, MERGE_DIR, TASK_BRANCH_PREFIX } from './names.js';
import { parseWorktreeList, type WorktreeEntry } from './worktree-list.js';

/**
 * What the parts of the git layer share: where the repository and swarm's worktrees are,
 * the runners, the admin lock, and reads that save a process (loose refs, HEAD files).
 *
 * Caches, and what keeps each true:
 * - `identities`: the commit identity by the environment that decides it. The user's config
 *   could change mid-run; a commit that fails with the remembered identity looks again.
 * - `integrationBranches`: every integration branch this process created or merged into;
 *   only grows, so `deleteBranch` refuses them even after a run ends.
 * - `excluded`: `.git/info/exclude` holds swarm's folders; written once per process (the
 *   write is idempotent, so a second process writing it too is harmless).
 * - No ref is cached: `looseBranch` and `worktreeHead` read git's files each time, and fall
 *   back to git for anything not plain (packed refs, reftable).
 *
 * Locks: `admin` serializes `git worktree add/remove/move` and branch creation and deletion,
 * which race on git's lock files. Nothing else takes it.
 */
export class GitCore {
  readonly root: string;
  readonly worktreesRoot: string;
  readonly commonDir: string;
  readonly runner: GitRunner;
  /**
   * For everything in the merge worktree: the user's hooks (post-merge, post-checkout,
   * reference-transaction, ...) are not run there. The merge is swarm's; merge.check is its gate.
   */
  readonly mergeRunner: GitRunner;
  readonly admin = new Mutex();
  readonly identities = new Map<string, Promise<string[]>>();
  readonly integrationBranches = new Set<string>();
  excluded: Promise<void> | undefined;

  constructor(root: string, commonDir: string, worktreesRoot: string, runner: GitRunner) {
    this.root = root;
    this.commonDir = commonDir;
    this.worktreesRoot = worktreesRoot;
    this.runner = runner;
    this.mergeRunner = runner.withConfig('core.hooksPath', '/dev/null');
  }

  // ------------------------------------------------------------------------ paths

  worktreePath(run: string, task: string): string {
    return join(this.worktreesRoot, run, task);
  }

  mergeWorktreePath(run: string): string {
    return join(this.worktreesRoot, run, MERGE_DIR);
  }

  /**
   * Adds `.swarm/` (and the worktrees folder, if configured elsewhere in the repository)
   * to `.git/info/exclude`, once per process.
   */
  ensureExcluded(): Promise<void> {
    this.excluded ??= (async () => {
      const patterns = ['/.swarm/'];
      const rel = relative(this.root, this.worktreesRoot);
      if (!rel.startsWith('..') && !isAbsolute(rel) && !isInside(join(this.root, '.swarm'), this.worktreesRoot)) {
        patterns.push(`/${rel.split(sep).join('/')}/`);
      }
      await addExcludes(join(this.commonDir, 'info', 'exclude'), patterns);
    })();
    return this.excluded;
  }

  // ------------------------------------------------------------------------ commits

  /** Like `resolve`, with the failure as a value. */
  async resolveCommit(commitish: string): Promise<Result<string, string>> {
    if (commitish === '' || commitish.startsWith('-')) return err(`${JSON.stringify(commitish)} is not a commit`);
    const out = await this.atRoot(['rev-parse', '-q', '--verify', `${commitish}^{commit}`]);
    if (out.exitCode !== 0) return err(`${JSON.stringify(commitish)} does not name a commit in ${this.root}`);
    return ok(out.stdout.trim());
  }

  /** The full sha of `commitish`; throws a `bad-input` GitError when there is no such commit. */
  async resolve(commitish: string): Promise<string> {
    const sha = await this.resolveCommit(commitish);
    if (!sha.ok) throw new GitError('bad-input', sha.error);
    return sha.value;
  }

  async integrationHead(into: string): Promise<string> {
    const loose = this.looseBranch(into);
    if (loose !== undefined) return loose;
    const out = await this.atRoot(['rev-parse', '-q', '--verify', `refs/heads/${into}^{commit}`]);
    if (out.exitCode !== 0) throw new GitError('bad-input', `the integration branch ${into} does not exist`);
    return out.stdout.trim();
  }

  /** Uncommitted changes, untracked files, or a merge waiting to be concluded. */
  async isDirty(worktree: string): Promise<boolean> {
    const status = await this.runner.ok(['status', '--porcelain', '-z', '--untracked-files=normal'], { cwd: worktree });
    return status !== '' || (await hasMergeHead(this.runner, worktree));
  }

  /** The task commit a worktree's HEAD names right now (what the audit is about to see). */
  async headOf(worktree: string): Promise<Result<string, string>> {
    try {
      await this.onTaskBranch(worktree);
    } catch (error) {
      if (error instanceof GitError && error.code === 'protected') return err(error.message);
      throw error;
    }
    return ok(this.worktreeHead(worktree) ?? (await this.runner.ok(['rev-parse', 'HEAD'], { cwd: worktree })));
  }

  /**
   * Throws a `protected` GitError when an agent pointed its worktree's HEAD at a branch that
   * is not a task branch (`git symbolic-ref HEAD refs/heads/swarm/x` needs no checkout, so
   * git's "already checked out" guard never sees it): swarm's own commit there would move
   * that branch, and the audit would take that branch's commit for the task's.
   */
  async onTaskBranch(worktree: string): Promise<void> {
    let head: string | undefined;
    try {
      const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'))?.[1];
      if (gitdir !== undefined) head = readFileSync(join(resolve(worktree, gitdir.trim()), 'HEAD'), 'utf8').trim();
    } catch {
      head = undefined;
    }
    head ??= (await this.runner.run(['symbolic-ref', '-q', 'HEAD'], { cwd: worktree })).stdout.trim().replace(/^(?=refs\/)/, 'ref: ');
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (ref !== undefined && !ref.startsWith(`refs/heads/${TASK_BRANCH_PREFIX}`)) {
      throw new GitError(
        'protected',
        `the HEAD of ${worktree} was pointed at ${ref}, not at a task branch (an agent did this); swarm neither commits there nor merges it`,
      );
    }
  }

  // ------------------------------------------------------------------------ internals

  /**
   * Commands in the user's checkout. GIT_OPTIONAL_LOCKS=0 keeps even `git status` from
   * refreshing the user's index: swarm only reads there.
   */
  atRoot(args: readonly string[]) {
    return this.runner.run(args, { cwd: this.root, env: { GIT_OPTIONAL_LOCKS: '0' } });
  }

  async worktrees(): Promise<WorktreeEntry[]> {
    const out = await this.atRoot(['worktree', 'list', '--porcelain', '-z']);
    if (out.exitCode !== 0) throw commandFailed(['worktree', 'list'], out);
    return parseWorktreeList(out.stdout);
  }

  /**
   * A linked worktree's HEAD from the files (`.git` names its admin folder, whose HEAD names
   * the branch, whose loose ref holds the sha), or undefined when any step is not plain
   * (packed or reftable refs, an odd layout): then git is asked.
   */
  worktreeHead(worktree: string): string | undefined {
    try {
      const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'))?.[1];
      if (gitdir === undefined) return undefined;
      const head = readFileSync(join(resolve(worktree, gitdir.trim()), 'HEAD'), 'utf8').trim();
      if (FULL_SHA.test(head)) return head;
      const branch = /^ref: refs\/heads\/(.+)$/.exec(head)?.[1];
      return branch === undefined ? undefined : this.looseBranch(branch);
    } catch {
      return undefined;
    }
  }

  /**
   * A branch's commit read from its loose ref file, as git's files backend keeps it after
   * every update (a loose ref wins over packed-refs). Undefined for anything else (packed
   * only, reftable, a symbolic ref): callers then ask git. `into` moves only in our merge
   * worktree, so this saves a process on every start and every merge.
   */
  looseBranch(branch: string): string | undefined {
    if (branch.includes('..') || branch.startsWith('/')) return undefined;
    try {
      const text = readFileSync(join(this.commonDir, 'refs', 'heads', ...branch.split('/')), 'utf8').trim();
      return FULL_SHA.test(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }

  identity(cwd: string, env: Readonly<Record<string, string>> = {}, fresh = false): Promise<string[]> {
    const key = JSON.stringify(
      Object.entries(env)
        .filter(([k]) => /^(GIT_(AUTHOR|COMMITTER)_|EMAIL$|GIT_CONFIG)/.test(k))
        .sort(),
    );
    let found = fresh ? undefined : this.identities.get(key);
    if (found === undefined) {
      found = identityArgs(this.runner, cwd, env);
      this.identities.set(key, found);
      // A failed lookup is asked again next time rather than remembered.
      found.catch(() => this.identities.delete(key));
    }
    return found;
  }

  async branchExists(branch: string): Promise<boolean> {
    return (await this.atRoot(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`])).exitCode === 0;
  }

  async currentBranch(worktree: string): Promise<string> {
    const out = await this.runner.run(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: worktree });
    return out.exitCode === 0 ? out.stdout.trim() : 'HEAD';
  }

  async checkBranchName(branch: string): Promise<void> {
    const out = await this.atRoot(['check-ref-format', '--branch', branch]);
    if (out.exitCode !== 0 || branch.startsWith('-')) {
      throw new GitError('bad-input', `${JSON.stringify(branch)} is not a valid branch name`);
    }
  }

  checkName(what: 'run' | 'task', value: string): void {
    const bad = badName(what, value);
    if (bad !== undefined) throw new GitError('bad-input', bad);
  }

  checkedOutError(branch: string, holder: WorktreeEntry): GitError {
    if (samePath(holder.path, this.root)) {
      return new GitError(
        'checked-out',
        `${branch} is the branch checked out in your working tree (${this.root}); swarm never moves the branch you are on. ` +
          `Switch to another branch, or set \`into:\` to another name`,
      );
    }
    return new GitError('checked-out', `${branch} is checked out in ${holder.path}; swarm can only move it from its own merge worktree`);
  }
}

export const SAFE_MERGE = ['-c', 'merge.autoStash=false'];

export const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * What `git check-ref-format --branch` would say of a task branch, without the process:
 * run and task names are already `[a-z0-9][a-z0-9._-]*`, so only `..`, a `.lock` ending and
 * a trailing dot can make one invalid. Anything else goes to git.
 */
export function plainTaskBranch(branch: string): boolean {
  return /^[a-z0-9/._-]+$/.test(branch) && !branch.includes('..') && !branch.split('/').some((c) => c.endsWith('.lock') || c.endsWith('.') || c === '');
}

export function isLinkedWorktree(path: string): boolean {
  const gitDir = worktreeGitDir(path);
  return gitDir !== undefined && gitDir !== join(path, '.git') && existsSync(gitDir);
}

export function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function samePath(a: string, b: string): boolean {
  return a === b || canonical(a) === canonical(b);
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
