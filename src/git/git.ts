// Over 400 lines, for now: one facade for refs, worktrees (with the pool) and merging,
// whose caches and mutexes must agree. Issue 13 splits it behind this facade.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { MergeStrategy } from '../config/spec.js';
import type { BranchCommit, GitPort, MergeOutcome, PreparedMerge, RecordEntry, Worktree } from '../engine/ports.js';
import { err, ok, type Result } from '../util/result.js';
import { runCheck } from './check.js';
import { GitError } from './errors.js';
import { worktreeGitDir } from './git-dir.js';
import { commandFailed, GitRunner } from './exec.js';
import { addExcludes } from './exclude.js';
import { identityArgs } from './identity.js';
import { readRunRecord } from './record.js';
import { applyStrategy, hasMergeHead, settleMergeWorktree, SOURCE_TRAILER, unmergedPaths } from './merge.js';
import { Mutex } from './mutex.js';
import { badName, MERGE_DIR, parseTaskBranch, sortedUnique, splitNul, TASK_BRANCH_PREFIX, taskBranch } from './names.js';
import { parseWorktreeList, type WorktreeEntry } from './worktree-list.js';

export interface GitOptions {
  /**
   * Where task worktrees live, relative to the repository root. Not under `.git/`:
   * Claude Code refuses to edit files there.
   * @default '.swarm/worktrees'
   */
  readonly worktreesDir?: string;
  /** Extra environment for every git command (tests pin an identity here). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * How many finished task worktrees to keep parked, per run, for the next tasks to reuse
   * (`releaseWorktree`). A new worktree checks out every file; a parked one only changes
   * what differs, and keeps ignored files such as `node_modules`, so `setup` is cheap.
   * 0 never parks: every task gets a fresh worktree, removed when it is merged.
   * @default 0
   */
  readonly pool?: number;
}

export interface CommitOptions {
  /** The environment the commit runs in: the agent's, with the pre-commit guard's GIT_CONFIG_*. */
  readonly env?: Readonly<Record<string, string>>;
  /** Skips pre-commit and commit-msg hooks. Off by default: the user's hooks run. */
  readonly noVerify?: boolean;
}

export interface RunWorktree {
  readonly path: string;
  /** The folder name: a task id, or `_merge`. */
  readonly name: string;
  readonly branch?: string;
  readonly head?: string;
  readonly isMerge: boolean;
}

/** `worktree list -z` arrived in 2.36; the rest of what swarm uses is older. */
const MIN_GIT: readonly [number, number] = [2, 36];

/**
 * swarm's only door to git. Everything it changes lives in its own worktrees and
 * branches; the user's checkout, index, HEAD and current branch are only ever read.
 */
export class Git implements GitPort {
  readonly root: string;
  readonly #worktreesRoot: string;
  readonly #commonDir: string;
  readonly #runner: GitRunner;
  /** `git worktree add/remove` and branch creation race on git's lock files: one at a time. */
  readonly #admin = new Mutex();
  /** The integration branch moves only in its merge worktree, one merge at a time. */
  readonly #merges = new Mutex();
  readonly #integrationBranches = new Set<string>();
  #excluded: Promise<void> | undefined;
  /** Merge worktrees this process already checked (`run` -> `into`); checked again only if gone. */
  readonly #mergeWorktrees = new Map<string, string>();
  /**
   * For everything in the merge worktree: the user's hooks (post-merge, post-checkout,
   * reference-transaction, ...) are not run there. The merge is swarm's; merge.check is its gate.
   */
  readonly #mergeRunner: GitRunner;
  /** Identity arguments, by the environment that decides them: the config cannot change mid-run. */
  readonly #identities = new Map<string, Promise<string[]>>();
  readonly #poolSize: number;
  /** Parked worktrees by run: clean, detached, ready to move to a new task's start point. */
  readonly #parked = new Map<string, string[]>();

  private constructor(root: string, commonDir: string, worktreesRoot: string, runner: GitRunner, poolSize: number) {
    this.root = root;
    this.#commonDir = commonDir;
    this.#worktreesRoot = worktreesRoot;
    this.#runner = runner;
    this.#mergeRunner = runner.withConfig('core.hooksPath', '/dev/null');
    this.#poolSize = poolSize;
  }

  /** Finds the main worktree of the repository holding `cwd` (from any of its worktrees). */
  static async open(cwd: string, options: GitOptions = {}): Promise<Result<Git, string>> {
    const runner = new GitRunner(options.env);
    if (!existsSync(cwd)) return err(`${cwd} does not exist`);
    const version = await runner.run(['version'], { cwd });
    if (version.exitCode !== 0) return err('git was not found on PATH; swarm needs git 2.36 or newer');
    const [, major = '0', minor = '0'] = /(\d+)\.(\d+)/.exec(version.stdout) ?? [];
    if (Number(major) < MIN_GIT[0] || (Number(major) === MIN_GIT[0] && Number(minor) < MIN_GIT[1])) {
      return err(`swarm needs git ${MIN_GIT.join('.')} or newer; found ${version.stdout.trim()}`);
    }
    const common = await runner.run(['rev-parse', '--git-common-dir'], { cwd });
    if (common.exitCode !== 0) {
      return err(`${cwd} is not inside a git repository; run swarm from your project (or \`git init\` and commit first)`);
    }
    const commonDir = resolve(cwd, common.stdout.trim());
    const entries = parseWorktreeList(await runner.ok(['worktree', 'list', '--porcelain', '-z'], { cwd }));
    const main = entries[0];
    if (main === undefined || main.bare) {
      return err(`${commonDir} is a bare repository; swarm needs one with a working tree`);
    }
    const root = main.path;
    const head = await runner.run(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: root });
    if (head.exitCode !== 0) {
      return err(`the repository at ${root} has no commits yet; swarm starts tasks from a commit, so make a first one`);
    }
    const worktreesRoot = resolve(root, options.worktreesDir ?? '.swarm/worktrees');
    if (isInside(commonDir, worktreesRoot) || isInside(join(root, '.git'), worktreesRoot)) {
      return err(`worktrees: ${options.worktreesDir} is inside .git/; Claude Code refuses to edit files there, choose another folder`);
    }
    if (worktreesRoot === root) return err('worktrees: must be a folder of its own, not the repository root');
    return ok(new Git(root, commonDir, worktreesRoot, runner, Math.max(0, Math.floor(options.pool ?? 0))));
  }

  // ------------------------------------------------------------------------ paths

  worktreePath(run: string, task: string): string {
    return join(this.#worktreesRoot, run, task);
  }

  mergeWorktreePath(run: string): string {
    return join(this.#worktreesRoot, run, MERGE_DIR);
  }

  /** Runs `fn` between two merges, when the merge worktree is at rest (for the tamper detection's look at it). */
  betweenMerges<T>(fn: () => Promise<T>): Promise<T> {
    return this.#merges.run(fn);
  }

  /**
   * Adds `.swarm/` (and the worktrees folder, if configured elsewhere in the repository)
   * to `.git/info/exclude`, once per process.
   */
  ensureExcluded(): Promise<void> {
    this.#excluded ??= (async () => {
      const patterns = ['/.swarm/'];
      const rel = relative(this.root, this.#worktreesRoot);
      if (!rel.startsWith('..') && !isAbsolute(rel) && !isInside(join(this.root, '.swarm'), this.#worktreesRoot)) {
        patterns.push(`/${rel.split(sep).join('/')}/`);
      }
      await addExcludes(join(this.#commonDir, 'info', 'exclude'), patterns);
    })();
    return this.#excluded;
  }

  // ------------------------------------------------------------------------ commits

  /** Like `resolve`, with the failure as a value. */
  async resolveCommit(commitish: string): Promise<Result<string, string>> {
    if (commitish === '' || commitish.startsWith('-')) return err(`${JSON.stringify(commitish)} is not a commit`);
    const out = await this.#atRoot(['rev-parse', '-q', '--verify', `${commitish}^{commit}`]);
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
    const loose = this.#looseBranch(into);
    if (loose !== undefined) return loose;
    const out = await this.#atRoot(['rev-parse', '-q', '--verify', `refs/heads/${into}^{commit}`]);
    if (out.exitCode !== 0) throw new GitError('bad-input', `the integration branch ${into} does not exist`);
    return out.stdout.trim();
  }

  /**
   * Creates `into` at `baseSha` when it does not exist (an existing branch is never moved)
   * and, given the run, checks it out in the run's merge worktree. Refuses when `into` is
   * checked out anywhere else, the user's own checkout above all: swarm would move a
   * branch under someone's feet.
   */
  async ensureIntegrationBranch(into: string, baseSha: string, run?: string): Promise<string> {
    await this.#checkBranchName(into);
    if (into.startsWith(TASK_BRANCH_PREFIX)) {
      throw new GitError('bad-input', `into: ${into} is inside ${TASK_BRANCH_PREFIX}, where swarm keeps task branches; choose another name`);
    }
    if (run !== undefined) this.#checkName('run', run);
    this.#integrationBranches.add(into);
    await this.ensureExcluded();
    return this.#admin.run(async () => {
      const exists = await this.#branchExists(into);
      if (!exists) {
        const base = await this.resolve(baseSha);
        // The empty old value makes this create-only: a branch made meanwhile is not moved.
        const out = await this.#atRoot(['update-ref', '-m', 'swarm: integration branch', `refs/heads/${into}`, base, '']);
        if (out.exitCode !== 0 && !(await this.#branchExists(into))) throw commandFailed(['update-ref', into], out);
      }
      const mergePath = run === undefined ? undefined : this.mergeWorktreePath(run);
      const holder = (await this.#worktrees()).find((e) => e.branch === into && !e.prunable && (mergePath === undefined || !samePath(e.path, mergePath)));
      if (holder !== undefined) throw this.#checkedOutError(into, holder);
      if (run !== undefined) await this.#ensureMergeWorktree(run, into);
      return this.integrationHead(into);
    });
  }

  /**
   * Worktree changes are serialized (git's own locks race); on failure leaves neither a
   * worktree nor a branch that this call made. With a pool, a parked worktree is reused.
   */
  async createWorktree(run: string, task: string, from: string): Promise<Result<Worktree, string>> {
    const bad = badName('run', run) ?? badName('task', task);
    if (bad !== undefined) return err(bad);
    await this.ensureExcluded();
    const path = this.worktreePath(run, task);
    const branch = taskBranch(run, task);
    // A parked worktree is switched to the new branch before taking the lock: that touches
    // only its own index and one new ref, so starts do not queue behind each other's checkouts.
    const prepared = FULL_SHA.test(from) && plainTaskBranch(branch) && !existsSync(path) ? await this.#prepareParked(run, branch, from) : undefined;
    return this.#admin.run(async () => {
      // The common case, a new task whose folder does not exist yet, in as few git calls as
      // possible; anything unusual (resume, a leftover folder, a bad start) takes the careful way.
      // A move onto a folder that appeared meanwhile fails, and undoes the preparation.
      const reused = await this.#reuseParked(path, branch, from, prepared);
      if (reused !== undefined) return ok(reused);
      if (FULL_SHA.test(from) && plainTaskBranch(branch) && !existsSync(path)) {
        await mkdir(dirname(path), { recursive: true });
        const out = await this.#atRoot(['worktree', 'add', '-q', '--no-track', '-b', branch, path, from]);
        if (out.exitCode === 0) return ok({ path, branch, startSha: from });
        // git refused before making anything (an existing branch, a stale registration):
        // the careful way finds out why, and cleans up whatever it finds.
      }
      return this.#createWorktree(run, task, from);
    });
  }

  /**
   * Hands a parked worktree of the run to a new task: a fresh branch at `from` checked out
   * there (only the files that differ change; ignored files stay), then moved to the task's
   * folder. A parked worktree with anything uncommitted is never reused, and one that fails
   * to move on is given up (removed when it is clean, else left alone). Undefined when there
   * is none to reuse: the caller makes a fresh worktree.
   */
  async #prepareParked(run: string, branch: string, from: string): Promise<string | undefined> {
    const parked = this.#parked.get(run);
    for (let candidate = parked?.pop(); candidate !== undefined; candidate = parked?.pop()) {
      if (!(await this.#reusable(candidate))) continue;
      const switched = await this.#runner.run(['checkout', '-q', '--no-track', '-b', branch, from], { cwd: candidate });
      if (switched.exitCode === 0) return candidate;
      if (await this.#branchExists(branch)) {
        // A resumed task keeps its own branch: the careful way checks it out; this one waits for another task.
        parked?.push(candidate);
        return undefined;
      }
      await this.#admin.run(() => this.#giveUp(candidate));
    }
    return undefined;
  }

  /** Under the admin lock: moves a prepared worktree (already on `branch` at `from`) to the task's folder. */
  async #reuseParked(path: string, branch: string, from: string, prepared: string | undefined): Promise<Worktree | undefined> {
    if (prepared === undefined) return undefined;
    const moved = await this.#atRoot(['worktree', 'move', prepared, path]);
    if (moved.exitCode === 0) return { path, branch, startSha: from };
    // Put it back as it was: detached, without the branch it just made (nothing is on it yet).
    await this.#runner.run(['checkout', '-q', '--detach'], { cwd: prepared });
    await this.#atRoot(['branch', '-D', branch]);
    await this.#giveUp(prepared);
    return undefined;
  }

  /**
   * A parked folder is reused only when it still is a linked worktree (a `.git` file that
   * points at an existing git directory: anything else would make git walk up to the user's
   * own checkout) with nothing uncommitted and no merge in progress.
   */
  async #reusable(path: string): Promise<boolean> {
    if (!isLinkedWorktree(path)) return false;
    try {
      return !(await this.isDirty(path));
    } catch {
      return false;
    }
  }

  async #giveUp(worktree: string): Promise<void> {
    // Not --force: a worktree with anything in it that git would call unclean stays on disk.
    await this.#atRoot(['worktree', 'remove', worktree]);
  }

  /**
   * The task is merged and done with its worktree. With a pool, a clean worktree is parked
   * (HEAD detached, so its branch is free) for the next task, unless the pool is full;
   * otherwise it is removed. Throws a `dirty` GitError, and keeps it, when it holds
   * uncommitted changes.
   */
  async releaseWorktree(path: string): Promise<void> {
    const run = this.#runOf(path);
    const parked = run === undefined ? undefined : (this.#parked.get(run) ?? []);
    if (run === undefined || parked === undefined || parked.length >= this.#poolSize || !isLinkedWorktree(path)) return this.removeWorktree(path);
    if (await this.isDirty(path)) {
      throw new GitError('dirty', `${path} holds uncommitted changes; commit them, or remove it with --force to discard them`);
    }
    const detached = await this.#runner.run(['checkout', '-q', '--detach'], { cwd: path });
    if (detached.exitCode !== 0) return this.removeWorktree(path);
    parked.push(path);
    this.#parked.set(run, parked);
  }

  /** Removes the run's parked worktrees (at the end of a run). Those git calls unclean stay. */
  async drainPool(run: string): Promise<void> {
    const parked = this.#parked.get(run) ?? [];
    this.#parked.delete(run);
    await this.#admin.run(async () => {
      for (const path of parked) await this.#giveUp(path);
      await rmdir(join(this.#worktreesRoot, run)).catch(() => undefined);
    });
  }

  /** The run a task worktree's path belongs to, or undefined for any other path. */
  #runOf(path: string): string | undefined {
    const rel = relative(this.#worktreesRoot, path).split(sep);
    if (rel.length !== 2 || rel[0] === '..' || rel[1] === MERGE_DIR) return undefined;
    return badName('run', rel[0] ?? '') === undefined ? rel[0] : undefined;
  }

  async #createWorktree(run: string, task: string, from: string): Promise<Result<Worktree, string>> {
    const path = this.worktreePath(run, task);
    const branch = taskBranch(run, task);
    const fail = (why: string) => err(`cannot start task ${task}: ${why}`);
    const start = await this.resolveCommit(from);
    if (!start.ok) return fail(start.error);
    const refCheck = await this.#atRoot(['check-ref-format', '--branch', branch]);
    if (refCheck.exitCode !== 0) return fail(`${branch} is not a valid branch name`);

    const entries = await this.#worktrees();
    const here = entries.find((e) => samePath(e.path, path));
    const branchExists = await this.#branchExists(branch);
    if (here !== undefined && !here.prunable) {
      if (here.branch === branch) return ok({ path, branch, startSha: await this.#startOf(branch, start.value) });
      // A worktree the pool parked (detached) and could not give up at the end of a run,
      // e.g. when git was busy: clean and on no branch, so removing it loses nothing.
      const leftover = here.branch === undefined && !(await this.isDirty(path));
      if (leftover) await this.#giveUp(path);
      if (!leftover || (await this.#worktrees()).some((e) => samePath(e.path, path))) {
        return fail(`${path} is already a worktree on ${here.branch ?? 'a detached HEAD'}, not ${branch}; run \`swarm clean ${run}\``);
      }
    }
    // Its folder was deleted by hand: drop git's record of it so the path can be reused.
    if (here?.prunable) await this.#atRoot(['worktree', 'remove', '--force', path]);
    const elsewhere = entries.find((e) => e.branch === branch && !e.prunable && !samePath(e.path, path));
    if (elsewhere !== undefined) return fail(`branch ${branch} is checked out in ${elsewhere.path}`);
    const folderExisted = existsSync(path);
    if (folderExisted && (await readdir(path)).length > 0) {
      return fail(`${path} exists and is not a worktree of this repository; move it away or run \`swarm clean ${run}\``);
    }

    await mkdir(dirname(path), { recursive: true });
    // Resume: an existing branch is checked out as it is, never reset, so committed work stays.
    const args = branchExists ? ['worktree', 'add', '-q', path, branch] : ['worktree', 'add', '-q', '--no-track', '-b', branch, path, start.value];
    const out = await this.#atRoot(args);
    if (out.exitCode === 0) {
      return ok({ path, branch, startSha: branchExists ? await this.#startOf(branch, start.value) : start.value });
    }
    await this.#undoStart(path, branch, { createdBranch: !branchExists, folderExisted });
    const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join('\n');
    return fail(`git worktree add failed: ${detail}`);
  }

  /** Removes exactly what a failed `worktree add` left: the registration, the folder and a new branch. */
  async #undoStart(path: string, branch: string, made: { createdBranch: boolean; folderExisted: boolean }): Promise<void> {
    if ((await this.#worktrees()).some((e) => samePath(e.path, path))) {
      await this.#atRoot(['worktree', 'remove', '--force', path]);
    }
    if (!made.folderExisted) await rm(path, { recursive: true, force: true });
    if (made.createdBranch && (await this.#branchExists(branch))) await this.#atRoot(['branch', '-D', branch]);
  }

  /** Where a resumed branch's own work begins relative to `from`. */
  async #startOf(branch: string, from: string): Promise<string> {
    const base = await this.#atRoot(['merge-base', from, `refs/heads/${branch}`]);
    return base.exitCode === 0 ? base.stdout.trim() : from;
  }

  /**
   * Commits whatever is uncommitted (new files included) and returns the new head, or null
   * when there was nothing. Hooks run as configured unless `noVerify`. Throws a
   * `commit-failed` GitError when a hook refuses or conflict markers are still there.
   * Concluding a merge (MERGE_HEAD set) stages the integration's files too, which a
   * pre-commit guard must allow.
   */
  async commitAll(worktree: string, message: string, opts: CommitOptions = {}): Promise<string | null> {
    const env = opts.env ?? {};
    await this.#onTaskBranch(worktree);
    await this.#runner.ok(['add', '-A'], { cwd: worktree, env });
    const merging = await hasMergeHead(this.#runner, worktree);
    if (merging) {
      const markers = await leftoverMarkers(this.#runner, worktree);
      if (markers.length > 0) {
        throw new GitError('commit-failed', `conflict markers are still in the files:\n${markers.slice(0, 10).join('\n')}`);
      }
    }
    const commit = (identity: string[]) =>
      this.#runner.run([...identity, 'commit', '-q', ...(opts.noVerify ? ['--no-verify'] : []), '-m', message], { cwd: worktree, env });
    const identity = await this.#identity(worktree, env);
    let out = await commit(identity);
    if (out.exitCode !== 0) {
      // The remembered identity may be stale (the user changed their config mid-run): look again.
      const fresh = await this.#identity(worktree, env, true);
      if (fresh.join('\0') !== identity.join('\0')) out = await commit(fresh);
    }
    if (out.exitCode !== 0) {
      // Nothing staged is the usual reason, and not a failure: asked only now, so a commit
      // that goes through costs no extra git call.
      if (!merging && (await this.#runner.run(['diff', '--cached', '--quiet'], { cwd: worktree, env })).exitCode === 0) return null;
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-20).join('\n');
      throw new GitError('commit-failed', `git commit in ${worktree} failed: ${detail}`);
    }
    // Read from the ref files git just wrote: one process less on every task's path.
    return this.#worktreeHead(worktree) ?? this.#runner.ok(['rev-parse', 'HEAD'], { cwd: worktree });
  }

  /**
   * Paths changed between `from` and the worktree's HEAD, both names of a rename, sorted.
   * Measured from the merge base (`from...HEAD`), so passing the integration branch after
   * it was merged into the task gives only the task's own work.
   */
  async changedPaths(worktree: string, from: string, to = 'HEAD'): Promise<string[]> {
    const out = await this.#runner.ok(['diff', '--name-status', '-M', '-z', `${from}...${to}`, '--'], { cwd: worktree });
    const fields = splitNul(out);
    const paths: string[] = [];
    for (let i = 0; i < fields.length; ) {
      const status = fields[i++] ?? '';
      const names = status.startsWith('R') || status.startsWith('C') ? 2 : 1;
      for (let n = 0; n < names && i < fields.length; n++) paths.push(fields[i++] ?? '');
    }
    return sortedUnique(paths);
  }

  // ------------------------------------------------------------------------ merging

  /**
   * Makes the commit that lands task commit `sha` (the one the audit saw, never the live
   * branch) on `expected`, in the run's merge worktree with its HEAD detached: the
   * integration branch itself does not move (`landMerge` moves it, after merge.check). The
   * worktree is settled first, whatever was left there. `moved` when the branch is not at
   * `expected`: someone other than swarm moved it.
   */
  async prepareMerge(opts: {
    run: string;
    into: string;
    sha: string;
    expected: string;
    strategy: MergeStrategy;
    message: string;
    trailers?: readonly string[];
  }): Promise<PreparedMerge> {
    this.#checkName('run', opts.run);
    return this.#merges.run(async () => {
      const cwd = await this.#mergeWorktree(opts.run, opts.into);
      const actual = await this.integrationHead(opts.into);
      if (actual !== opts.expected) return { kind: 'moved', actual };
      const runner = this.#mergeRunner;
      await settleMergeWorktree(runner, cwd, opts.expected);
      const outcome = await applyStrategy(runner, {
        cwd,
        onto: opts.expected,
        taskSha: opts.sha,
        strategy: opts.strategy,
        message: opts.message,
        identity: await this.#identity(cwd),
        trailers: opts.trailers ?? (opts.strategy === 'merge' ? [] : [`${SOURCE_TRAILER}: ${opts.sha}`]),
      });
      if (outcome.kind === 'conflict') {
        // Back at the branch's head, and on the branch again, as between merges.
        await runner.run(['symbolic-ref', 'HEAD', `refs/heads/${opts.into}`], { cwd });
        return outcome;
      }
      return { kind: 'prepared', commit: await runner.ok(['rev-parse', 'HEAD'], { cwd }), cwd };
    });
  }

  /**
   * Moves the integration branch from `expected` to `commit` in one compare-and-swap
   * (`update-ref` with the old value): false, and nothing moved, when it is not at
   * `expected`. The merge worktree is then back on the branch, so git refuses to check it
   * out anywhere else between merges.
   */
  async landMerge(opts: { run: string; into: string; commit: string; expected: string; task: string }): Promise<boolean> {
    return this.#merges.run(async () => {
      const cwd = this.mergeWorktreePath(opts.run);
      const out = await this.#mergeRunner.run(['update-ref', '-m', `swarm: merge ${opts.task}`, `refs/heads/${opts.into}`, opts.commit, opts.expected], {
        cwd: this.root,
      });
      if (out.exitCode !== 0) return false;
      // HEAD is detached at `commit`, which the branch now names: attaching changes no file.
      await this.#mergeRunner.run(['symbolic-ref', 'HEAD', `refs/heads/${opts.into}`], { cwd });
      return true;
    });
  }

  /** Gives up a prepared merge: the merge worktree goes back to the branch's head, clean. */
  async abandonMerge(run: string, into: string): Promise<void> {
    await this.#merges.run(async () => {
      const cwd = this.mergeWorktreePath(run);
      if (!existsSync(cwd)) return;
      await settleMergeWorktree(this.#mergeRunner, cwd, await this.integrationHead(into));
      await this.#mergeRunner.run(['symbolic-ref', 'HEAD', `refs/heads/${into}`], { cwd });
    });
  }

  /**
   * Prepare, check, land in one call, for callers that need no events of the check (tests,
   * scripts). The engine runs the three steps itself.
   */
  async merge(opts: {
    run: string;
    into: string;
    branch: string;
    strategy: MergeStrategy;
    message: string;
    task: string;
    check?: string;
    env?: Readonly<Record<string, string>>;
    signal?: AbortSignal;
  }): Promise<MergeOutcome | { kind: 'moved'; actual: string }> {
    const expected = await this.integrationHead(opts.into);
    const sha = await this.resolve(`refs/heads/${opts.branch}`);
    const prepared = await this.prepareMerge({ ...opts, sha, expected });
    if (prepared.kind !== 'prepared') return prepared;
    if (opts.check !== undefined) {
      const env = { ...this.#runner.env, ...(opts.env ?? {}) };
      const result = await runCheck(opts.check, { cwd: prepared.cwd, env, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (!result.ok) {
        await this.abandonMerge(opts.run, opts.into);
        const output = result.cancelled ? `${result.output}\n(check stopped: the run is stopping)` : result.output;
        return { kind: 'check-failed', output, exitCode: result.exitCode };
      }
    }
    const landed = await this.landMerge({ ...opts, commit: prepared.commit, expected });
    return landed ? { kind: 'merged', commit: prepared.commit } : { kind: 'moved', actual: await this.integrationHead(opts.into) };
  }

  /** The merge worktree's path, made (or checked) once per run by this process. */
  async #mergeWorktree(run: string, into: string): Promise<string> {
    const mergePath = this.mergeWorktreePath(run);
    // Checked once per run: only the worktree's disappearance needs looking for afterwards.
    if (this.#mergeWorktrees.get(run) === into && existsSync(join(mergePath, '.git'))) return mergePath;
    await this.integrationHead(into);
    const cwd = await this.#admin.run(async () => {
      const holder = (await this.#worktrees()).find((e) => e.branch === into && !e.prunable && !samePath(e.path, mergePath));
      if (holder !== undefined) throw this.#checkedOutError(into, holder);
      return this.#ensureMergeWorktree(run, into);
    });
    this.#mergeWorktrees.set(run, into);
    this.#integrationBranches.add(into);
    return cwd;
  }

  /** The task commit a worktree's HEAD names right now (what the audit is about to see). */
  async headOf(worktree: string): Promise<string> {
    await this.#onTaskBranch(worktree);
    return this.#worktreeHead(worktree) ?? this.#runner.ok(['rev-parse', 'HEAD'], { cwd: worktree });
  }

  /**
   * Throws a `protected` GitError when an agent pointed its worktree's HEAD at a branch that
   * is not a task branch (`git symbolic-ref HEAD refs/heads/swarm/x` needs no checkout, so
   * git's "already checked out" guard never sees it): swarm's own commit there would move
   * that branch, and the audit would take that branch's commit for the task's.
   */
  async #onTaskBranch(worktree: string): Promise<void> {
    let head: string | undefined;
    try {
      const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'))?.[1];
      if (gitdir !== undefined) head = readFileSync(join(resolve(worktree, gitdir.trim()), 'HEAD'), 'utf8').trim();
    } catch {
      head = undefined;
    }
    head ??= (await this.#runner.run(['symbolic-ref', '-q', 'HEAD'], { cwd: worktree })).stdout.trim().replace(/^(?=refs\/)/, 'ref: ');
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (ref !== undefined && !ref.startsWith(`refs/heads/${TASK_BRANCH_PREFIX}`)) {
      throw new GitError(
        'protected',
        `the HEAD of ${worktree} was pointed at ${ref}, not at a task branch (an agent did this); swarm neither commits there nor merges it`,
      );
    }
  }

  /**
   * Paths touched, one commit at a time, by the commits reachable from `tip` but from none of
   * `not`: what a squash would hide but the history would keep (a file changed, then changed
   * back). Pass the integration head in `not`, so other tasks' commits brought in by a
   * conflict resolution are not counted. A merge commit counts for what it adds beyond
   * merging its parents (remerge-diff): a merge can carry a change in its own tree, and a
   * second merge take it back. Git before 2.36 has no remerge-diff: a merge then counts for
   * its diff against each parent, which may flag a conflict resolution too (squash: safe).
   */
  async commitPaths(tip: string, not: readonly string[]): Promise<string[]> {
    const args = (merges: string) => ['log', merges, '--format=', '--name-only', '-z', '--no-renames', tip, ...not.map((n) => `^${n}`), '--'];
    const remerge = await this.#runner.run(args('--diff-merges=remerge'), { cwd: this.root });
    const out = remerge.exitCode === 0 ? remerge.stdout : await this.#runner.ok(args('-m'), { cwd: this.root });
    return sortedUnique(
      splitNul(out)
        .map((p) => p.replace(/^\n+/, ''))
        .filter((p) => p !== ''),
    );
  }

  /** Commits in `from..to`, newest first, with their subjects: what came after an audit. */
  async commitsBetween(from: string, to: string): Promise<{ sha: string; subject: string }[]> {
    const out = await this.#runner.ok(['log', '--format=%H %s', `${from}..${to}`, '--'], { cwd: this.root });
    return out === ''
      ? []
      : out.split('\n').map((l) => ({ sha: l.slice(0, l.indexOf(' ') < 0 ? l.length : l.indexOf(' ')), subject: l.slice(l.indexOf(' ') + 1) }));
  }

  /**
   * Undoes a merge of the integration branch left unfinished in a task worktree (a conflict
   * resolution that failed, or whose runner died); true when there was one.
   */
  async abortTaskMerge(worktree: string): Promise<boolean> {
    if (!(await hasMergeHead(this.#runner, worktree))) return false;
    await this.#runner.ok(['merge', '--abort'], { cwd: worktree });
    return true;
  }

  /**
   * Merges the integration head into the task branch in its worktree. On conflict the
   * markers stay uncommitted (MERGE_HEAD set) for the agent to resolve; `commitAll`
   * concludes the merge afterwards. Without conflict the merge is committed at once.
   */
  async mergeIntegrationIntoTask(worktree: string, into: string, head: string): Promise<{ conflicted: string[] }> {
    if (await hasMergeHead(this.#runner, worktree)) {
      // A retry finds the merge it started: same integration head, keep the agent's progress.
      const pending = await this.#runner.ok(['rev-parse', 'MERGE_HEAD'], { cwd: worktree });
      if (pending === head) return { conflicted: await unmergedPaths(this.#runner, worktree) };
      await this.#runner.ok(['merge', '--abort'], { cwd: worktree });
    }
    // git labels the markers with the name it was given: the branch's name when it names
    // exactly the head swarm means, so `>>>>>>> swarm/<run>` says where the other side came from.
    const named = (await this.integrationHead(into).catch(() => undefined)) === head ? into : head;
    const args = [...SAFE_MERGE, 'merge', '-q', '--no-ff', '--no-commit', named];
    const out = await this.#runner.run(args, { cwd: worktree });
    if (out.exitCode !== 0) {
      const conflicted = await unmergedPaths(this.#runner, worktree);
      if (conflicted.length > 0) return { conflicted };
      throw commandFailed(args, out);
    }
    if (await hasMergeHead(this.#runner, worktree)) {
      const identity = await this.#identity(worktree);
      const message = `Merge ${into} into ${await this.#currentBranch(worktree)}`;
      // --no-verify: these are other tasks' files, already merged; a lease guard would refuse them.
      await this.#runner.ok([...identity, 'commit', '-q', '--no-verify', '-m', message], { cwd: worktree });
    }
    return { conflicted: [] };
  }

  /**
   * Whether `branch`'s work is already in `into`: it is an ancestor (merge, rebase
   * fast-forward), or merging it would change nothing (squash, rebase with new shas).
   * The second test can miss work that later commits on `into` changed again; then the
   * task is merged once more, which changes nothing or conflicts, never loses work.
   */
  async isMerged(branch: string, into: string): Promise<boolean> {
    const tip = await this.resolveCommit(`refs/heads/${branch}`);
    const target = await this.resolveCommit(`refs/heads/${into}`);
    if (!tip.ok || !target.ok) return false;
    const ancestor = await this.#atRoot(['merge-base', '--is-ancestor', tip.value, target.value]);
    if (ancestor.exitCode === 0) return true;
    // A squash commit names the commit it squashed: exact, whatever came after it.
    const squashed = await this.#atRoot(['log', '--first-parent', '--format=%H', '-n1', '-E', `--grep=^Swarm-(Source|Commit): ${tip.value}$`, target.value]);
    if (squashed.exitCode === 0 && squashed.stdout.trim() !== '') return true;
    const merged = await this.#atRoot(['merge-tree', '--write-tree', '--no-messages', target.value, tip.value]);
    if (merged.exitCode === 0) {
      const tree = await this.#atRoot(['rev-parse', `${target.value}^{tree}`]);
      return merged.stdout.split('\n')[0]?.trim() === tree.stdout.trim();
    }
    if (merged.exitCode === 1) return false;
    // git older than 2.38 has no `merge-tree --write-tree`: fall back to patch identity.
    const cherry = await this.#atRoot(['cherry', target.value, tip.value]);
    const lines = cherry.stdout.split('\n').filter((l) => l.trim() !== '');
    return cherry.exitCode === 0 && lines.every((l) => l.startsWith('-'));
  }

  /** The run record on `into` (see src/git/record.ts). */
  readRecord(into: string, run: string): Promise<RecordEntry[]> {
    return readRunRecord(this.#runner, this.root, into, run);
  }

  /** Whether `ancestor` is in `descendant`'s history; false when either is missing. */
  async contains(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.#atRoot(['merge-base', '--is-ancestor', ancestor, descendant])).exitCode === 0;
  }

  taskBranch(run: string, task: string): string {
    return taskBranch(run, task);
  }

  /** Whether commit `sha` is in `into`'s history; false when either is missing. */
  async isAncestor(sha: string, into: string): Promise<boolean> {
    const target = await this.resolveCommit(`refs/heads/${into}`);
    if (!target.ok || !/^[0-9a-f]{4,64}$/i.test(sha)) return false;
    return (await this.#atRoot(['merge-base', '--is-ancestor', sha, target.value])).exitCode === 0;
  }

  // ------------------------------------------------------------------------ cleaning up

  /**
   * Removes one of swarm's worktrees. Throws a `dirty` GitError when it holds uncommitted
   * changes (untracked files included) unless `force`, and `protected` for any folder
   * outside swarm's worktrees. Removing one that is already gone is not an error.
   */
  async removeWorktree(path: string, opts: { force?: boolean } = {}): Promise<void> {
    const target = canonical(path);
    if (!isInside(canonical(this.#worktreesRoot), target) || samePath(target, this.root)) {
      throw new GitError('protected', `${path} is not one of swarm's worktrees (under ${this.#worktreesRoot}); swarm leaves it alone`);
    }
    for (const parked of this.#parked.values()) {
      const at = parked.findIndex((p) => samePath(p, path));
      if (at >= 0) parked.splice(at, 1);
    }
    await this.#admin.run(async () => {
      // Without --force git itself refuses a worktree with modified or untracked files, so a
      // clean one goes in one call; a refusal takes the careful way below, which says why.
      if (!opts.force && existsSync(path) && !(await hasMergeHead(this.#runner, path))) {
        const out = await this.#atRoot(['worktree', 'remove', path]);
        if (out.exitCode === 0) {
          await rmdir(dirname(path)).catch(() => undefined);
          return;
        }
      }
      const entry = (await this.#worktrees()).find((e) => samePath(e.path, path));
      if (entry === undefined) return;
      if (!entry.prunable && !opts.force && (await this.isDirty(entry.path))) {
        throw new GitError('dirty', `${path} holds uncommitted changes; commit them, or remove it with --force to discard them`);
      }
      const force = opts.force || entry.prunable ? ['--force'] : [];
      const out = await this.#atRoot(['worktree', 'remove', ...force, entry.path]);
      if (out.exitCode !== 0) throw commandFailed(['worktree', 'remove', path], out);
      // The run's folder goes with its last worktree; a non-empty one stays.
      await rmdir(dirname(entry.path)).catch(() => undefined);
    });
  }

  /** Uncommitted changes, untracked files, or a merge waiting to be concluded. */
  async isDirty(worktree: string): Promise<boolean> {
    const status = await this.#runner.ok(['status', '--porcelain', '-z', '--untracked-files=normal'], { cwd: worktree });
    return status !== '' || (await hasMergeHead(this.#runner, worktree));
  }

  /**
   * Deletes a task branch (`swarm-task/<run>/<task>`). Refuses, with a `protected` GitError,
   * the integration branch, any branch that is not a task's, and a branch checked out in
   * any worktree, the user's current branch included. A missing branch is not an error.
   */
  async deleteBranch(branch: string, opts: { into?: string } = {}): Promise<void> {
    if (parseTaskBranch(branch) === undefined) {
      throw new GitError('protected', `${branch} is not a swarm task branch (${TASK_BRANCH_PREFIX}<run>/<task>); swarm leaves it alone`);
    }
    if (branch === opts.into || this.#integrationBranches.has(branch)) {
      throw new GitError('protected', `${branch} is the integration branch; swarm never deletes it`);
    }
    await this.#admin.run(async () => {
      if (!(await this.#branchExists(branch))) return;
      const holder = (await this.#worktrees()).find((e) => e.branch === branch && !e.prunable);
      if (holder !== undefined) {
        throw new GitError('protected', `${branch} is checked out in ${holder.path}; remove that worktree first`);
      }
      const out = await this.#atRoot(['branch', '-D', branch]);
      if (out.exitCode !== 0) throw commandFailed(['branch', '-D', branch], out);
    });
  }

  /** The run's worktrees (tasks and the merge worktree), sorted by path. */
  async listRunWorktrees(run: string): Promise<RunWorktree[]> {
    const dir = join(this.#worktreesRoot, run);
    return (await this.#worktrees())
      .filter((e) => samePath(dirname(e.path), dir))
      .map((e) => {
        const name = e.path.slice(dirname(e.path).length + 1);
        return {
          path: e.path,
          name,
          isMerge: name === MERGE_DIR,
          ...(e.branch !== undefined ? { branch: e.branch } : {}),
          ...(e.head !== undefined ? { head: e.head } : {}),
        };
      })
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The run's task branches (`swarm-task/<run>/*`), sorted; for `swarm clean`. */
  async listTaskBranches(run: string): Promise<string[]> {
    this.#checkName('run', run);
    const out = await this.#atRoot(['for-each-ref', '--format=%(refname:short)', `refs/heads/${taskBranch(run, '')}`]);
    if (out.exitCode !== 0) throw commandFailed(['for-each-ref'], out);
    return sortedUnique(out.stdout.split('\n').filter((b) => parseTaskBranch(b)?.run === run));
  }

  /** Whether the user's own checkout has uncommitted changes. swarm works from commits, so that is fine, but worth saying. */
  async userCheckoutDirty(): Promise<boolean> {
    const out = await this.#atRoot(['status', '--porcelain', '-z', '--untracked-files=normal']);
    if (out.exitCode !== 0) throw commandFailed(['status'], out);
    return out.stdout !== '';
  }

  // ------------------------------------------------------------------------ internals

  /**
   * Commands in the user's checkout. GIT_OPTIONAL_LOCKS=0 keeps even `git status` from
   * refreshing the user's index: swarm only reads there.
   */
  #atRoot(args: readonly string[]) {
    return this.#runner.run(args, { cwd: this.root, env: { GIT_OPTIONAL_LOCKS: '0' } });
  }

  async #worktrees(): Promise<WorktreeEntry[]> {
    const out = await this.#atRoot(['worktree', 'list', '--porcelain', '-z']);
    if (out.exitCode !== 0) throw commandFailed(['worktree', 'list'], out);
    return parseWorktreeList(out.stdout);
  }

  /**
   * A branch's commit read from its loose ref file, as git's files backend keeps it after
   * every update (a loose ref wins over packed-refs). Undefined for anything else (packed
   * only, reftable, a symbolic ref): callers then ask git. `into` moves only in our merge
   * worktree, so this saves a process on every start and every merge.
   */
  /**
   * A linked worktree's HEAD from the files (`.git` names its admin folder, whose HEAD names
   * the branch, whose loose ref holds the sha), or undefined when any step is not plain
   * (packed or reftable refs, an odd layout): then git is asked.
   */
  #worktreeHead(worktree: string): string | undefined {
    try {
      const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'))?.[1];
      if (gitdir === undefined) return undefined;
      const head = readFileSync(join(resolve(worktree, gitdir.trim()), 'HEAD'), 'utf8').trim();
      if (FULL_SHA.test(head)) return head;
      const branch = /^ref: refs\/heads\/(.+)$/.exec(head)?.[1];
      return branch === undefined ? undefined : this.#looseBranch(branch);
    } catch {
      return undefined;
    }
  }

  #looseBranch(branch: string): string | undefined {
    if (branch.includes('..') || branch.startsWith('/')) return undefined;
    try {
      const text = readFileSync(join(this.#commonDir, 'refs', 'heads', ...branch.split('/')), 'utf8').trim();
      return FULL_SHA.test(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }

  #identity(cwd: string, env: Readonly<Record<string, string>> = {}, fresh = false): Promise<string[]> {
    const key = JSON.stringify(
      Object.entries(env)
        .filter(([k]) => /^(GIT_(AUTHOR|COMMITTER)_|EMAIL$|GIT_CONFIG)/.test(k))
        .sort(),
    );
    let found = fresh ? undefined : this.#identities.get(key);
    if (found === undefined) {
      found = identityArgs(this.#runner, cwd, env);
      this.#identities.set(key, found);
      // A failed lookup is asked again next time rather than remembered.
      found.catch(() => this.#identities.delete(key));
    }
    return found;
  }

  async #branchExists(branch: string): Promise<boolean> {
    return (await this.#atRoot(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`])).exitCode === 0;
  }

  async #currentBranch(worktree: string): Promise<string> {
    const out = await this.#runner.run(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: worktree });
    return out.exitCode === 0 ? out.stdout.trim() : 'HEAD';
  }

  async #checkBranchName(branch: string): Promise<void> {
    const out = await this.#atRoot(['check-ref-format', '--branch', branch]);
    if (out.exitCode !== 0 || branch.startsWith('-')) {
      throw new GitError('bad-input', `${JSON.stringify(branch)} is not a valid branch name`);
    }
  }

  #checkName(what: 'run' | 'task', value: string): void {
    const bad = badName(what, value);
    if (bad !== undefined) throw new GitError('bad-input', bad);
  }

  #checkedOutError(branch: string, holder: WorktreeEntry): GitError {
    if (samePath(holder.path, this.root)) {
      return new GitError(
        'checked-out',
        `${branch} is the branch checked out in your working tree (${this.root}); swarm never moves the branch you are on. ` +
          `Switch to another branch, or set \`into:\` to another name`,
      );
    }
    return new GitError('checked-out', `${branch} is checked out in ${holder.path}; swarm can only move it from its own merge worktree`);
  }

  /** Must run under `#admin`. Returns the merge worktree's path, creating it when missing. */
  async #ensureMergeWorktree(run: string, into: string): Promise<string> {
    const path = this.mergeWorktreePath(run);
    const entry = (await this.#worktrees()).find((e) => samePath(e.path, path));
    if (entry !== undefined && !entry.prunable) {
      // Detached is what a crash in the middle of a rebase leaves; settling puts it back on `into`.
      if (entry.branch === into || entry.detached) return entry.path;
      throw new GitError('checked-out', `the merge worktree ${path} is on ${entry.branch ?? '?'}, not ${into}; run \`swarm clean ${run}\``);
    }
    if (entry?.prunable) await this.#atRoot(['worktree', 'remove', '--force', path]);
    if (existsSync(path) && (await readdir(path)).length > 0) {
      throw new GitError('protected', `${path} exists and is not a worktree of this repository; move it away`);
    }
    await mkdir(dirname(path), { recursive: true });
    // Hooks off, as for everything else the merge worktree does (post-checkout, reference-transaction).
    const out = await this.#mergeRunner.run(['worktree', 'add', '-q', path, into], { cwd: this.root });
    if (out.exitCode !== 0) {
      await this.#atRoot(['worktree', 'remove', '--force', path]);
      throw commandFailed(['worktree', 'add', path, into], out);
    }
    return path;
  }

  /**
   * The commits on `tip` that `from` does not have, oldest first, each with its subject and
   * the files it touched. First parents only, merges left out: a conflict resolution merges
   * the integration branch into the task's, and those commits are other tasks' work. What
   * an agent starting on an existing branch is told it holds.
   */
  async branchCommits(from: string, tip: string): Promise<BranchCommit[]> {
    const out = await this.#atRoot([
      'log',
      '--reverse',
      '--first-parent',
      '--no-merges',
      '--no-renames',
      '--format=%x1e%H%x1f%s',
      '--name-only',
      '-z',
      `${from}..${tip}`,
      '--',
    ]);
    if (out.exitCode !== 0) throw commandFailed(['log', `${from}..${tip}`], out);
    return out.stdout
      .split('\x1e')
      .filter((record) => record !== '')
      .map((record) => {
        const [head = '', ...rest] = record.split('\0');
        const [sha = '', subject = ''] = head.split('\x1f');
        return { sha, subject, files: sortedUnique(rest.map((f) => f.replace(/^\n/, '')).filter((f) => f !== '')) };
      });
  }

  /**
   * Renames a task branch to `to` (which must not exist), keeping its commits and reflog:
   * a task whose definition changed starts over on a fresh branch without losing the old one.
   * Refuses a branch checked out in a worktree (remove that first).
   */
  async renameBranch(branch: string, to: string): Promise<void> {
    if (parseTaskBranch(branch) === undefined) throw new GitError('protected', `${branch} is not a swarm task branch; swarm leaves it alone`);
    await this.#checkBranchName(to);
    await this.#admin.run(async () => {
      const holder = (await this.#worktrees()).find((e) => e.branch === branch && !e.prunable);
      if (holder !== undefined) throw new GitError('protected', `${branch} is checked out in ${holder.path}; remove that worktree first`);
      const out = await this.#atRoot(['branch', '-m', branch, to]);
      if (out.exitCode !== 0) throw commandFailed(['branch', '-m', branch, to], out);
    });
  }
}

const SAFE_MERGE = ['-c', 'merge.autoStash=false'];

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * What `git check-ref-format --branch` would say of a task branch, without the process:
 * run and task names are already `[a-z0-9][a-z0-9._-]*`, so only `..`, a `.lock` ending and
 * a trailing dot can make one invalid. Anything else goes to git.
 */
function plainTaskBranch(branch: string): boolean {
  return /^[a-z0-9/._-]+$/.test(branch) && !branch.includes('..') && !branch.split('/').some((c) => c.endsWith('.lock') || c.endsWith('.') || c === '');
}

/**
 * `path:line` of each conflict marker about to be committed. git's own check also flags
 * `=======`, which is a Markdown heading underline too, so only the `<<<<<<<` and
 * `>>>>>>>` lines count. LC_ALL=C: the message is matched, and git translates it.
 */
async function leftoverMarkers(runner: GitRunner, worktree: string): Promise<string[]> {
  const out = await runner.run(['-c', 'core.quotePath=false', 'diff', '--cached', '--check', 'HEAD'], {
    cwd: worktree,
    env: { LC_ALL: 'C' },
  });
  const found: string[] = [];
  const files = new Map<string, string[]>();
  for (const line of out.stdout.split('\n')) {
    const m = /^(.*):(\d+): leftover conflict marker$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    let lines = files.get(m[1]);
    if (lines === undefined) {
      lines = await readFile(join(worktree, m[1]), 'utf8').then(
        (t) => t.split('\n'),
        () => [],
      );
      files.set(m[1], lines);
    }
    const text = lines[Number(m[2]) - 1] ?? '';
    if (/^(<{7}|>{7})(\s|$)/.test(text)) found.push(`${m[1]}:${m[2]}`);
  }
  return found;
}

function isLinkedWorktree(path: string): boolean {
  const gitDir = worktreeGitDir(path);
  return gitDir !== undefined && gitDir !== join(path, '.git') && existsSync(gitDir);
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function samePath(a: string, b: string): boolean {
  return a === b || canonical(a) === canonical(b);
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
