import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GitPort, RecordEntry } from '../engine/ports.js';
import { err, ok, type Result } from '../util/result.js';
import { GitRunner } from './exec.js';
import { parseWorktreeList } from './worktree-list.js';
import { taskBranch } from './names.js';
import { type FailedRecord, readFailedRecords } from './failed-record.js';
import { readLandingsBetween, readRunRecord } from './record.js';
import { GitCore, isInside } from './core.js';
import { History } from './history.js';
import { Integration } from './integration.js';
import { Worktrees } from './worktrees.js';

export type { CommitOptions } from './history.js';
export type { MergeOutcome } from './integration.js';
export type { RunWorktree } from './worktrees.js';

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

/** `worktree list -z` arrived in 2.36; the rest of what swarm uses is older. */
const MIN_GIT: readonly [number, number] = [2, 36];

/**
 * swarm's only door to git. Everything it changes lives in its own worktrees and
 * branches; the user's checkout, index, HEAD and current branch are only ever read.
 * The work is done by its parts, each with its caches and locks documented where they
 * live: the repository and refs (core.ts), task worktrees and their pool (worktrees.ts),
 * the integration branch and merging (integration.ts), commits and branches (history.ts).
 */
export class Git implements GitPort {
  readonly root: string;
  readonly #core: GitCore;
  readonly #worktrees: Worktrees;
  readonly #integration: Integration;
  readonly #history: History;

  private constructor(core: GitCore, poolSize: number) {
    this.root = core.root;
    this.#core = core;
    this.#worktrees = new Worktrees(core, poolSize);
    this.#integration = new Integration(core);
    this.#history = new History(core);
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
    return ok(new Git(new GitCore(root, commonDir, worktreesRoot, runner), Math.max(0, Math.floor(options.pool ?? 0))));
  }

  // ------------------------------------------------------------------------ repository and refs

  worktreePath(...args: Parameters<GitCore['worktreePath']>): ReturnType<GitCore['worktreePath']> {
    return this.#core.worktreePath(...args);
  }

  mergeWorktreePath(...args: Parameters<GitCore['mergeWorktreePath']>): ReturnType<GitCore['mergeWorktreePath']> {
    return this.#core.mergeWorktreePath(...args);
  }

  ensureExcluded(...args: Parameters<GitCore['ensureExcluded']>): ReturnType<GitCore['ensureExcluded']> {
    return this.#core.ensureExcluded(...args);
  }

  resolveCommit(...args: Parameters<GitCore['resolveCommit']>): ReturnType<GitCore['resolveCommit']> {
    return this.#core.resolveCommit(...args);
  }

  resolve(...args: Parameters<GitCore['resolve']>): ReturnType<GitCore['resolve']> {
    return this.#core.resolve(...args);
  }

  integrationHead(...args: Parameters<GitCore['integrationHead']>): ReturnType<GitCore['integrationHead']> {
    return this.#core.integrationHead(...args);
  }

  isDirty(...args: Parameters<GitCore['isDirty']>): ReturnType<GitCore['isDirty']> {
    return this.#core.isDirty(...args);
  }

  headOf(...args: Parameters<GitCore['headOf']>): ReturnType<GitCore['headOf']> {
    return this.#core.headOf(...args);
  }

  // ------------------------------------------------------------------------ worktrees

  createWorktree(...args: Parameters<Worktrees['createWorktree']>): ReturnType<Worktrees['createWorktree']> {
    return this.#worktrees.createWorktree(...args);
  }

  releaseWorktree(...args: Parameters<Worktrees['releaseWorktree']>): ReturnType<Worktrees['releaseWorktree']> {
    return this.#worktrees.releaseWorktree(...args);
  }

  drainPool(...args: Parameters<Worktrees['drainPool']>): ReturnType<Worktrees['drainPool']> {
    return this.#worktrees.drainPool(...args);
  }

  removeWorktree(...args: Parameters<Worktrees['removeWorktree']>): ReturnType<Worktrees['removeWorktree']> {
    return this.#worktrees.removeWorktree(...args);
  }

  listRunWorktrees(...args: Parameters<Worktrees['listRunWorktrees']>): ReturnType<Worktrees['listRunWorktrees']> {
    return this.#worktrees.listRunWorktrees(...args);
  }

  // ------------------------------------------------------------------------ integration

  betweenMerges<T>(fn: () => Promise<T>): Promise<T> {
    return this.#integration.betweenMerges(fn);
  }

  ensureIntegrationBranch(...args: Parameters<Integration['ensureIntegrationBranch']>): ReturnType<Integration['ensureIntegrationBranch']> {
    return this.#integration.ensureIntegrationBranch(...args);
  }

  prepareMerge(...args: Parameters<Integration['prepareMerge']>): ReturnType<Integration['prepareMerge']> {
    return this.#integration.prepareMerge(...args);
  }

  advanceIntegration(...args: Parameters<Integration['advance']>): ReturnType<Integration['advance']> {
    return this.#integration.advance(...args);
  }

  landMerge(...args: Parameters<Integration['landMerge']>): ReturnType<Integration['landMerge']> {
    return this.#integration.landMerge(...args);
  }

  abandonMerge(...args: Parameters<Integration['abandonMerge']>): ReturnType<Integration['abandonMerge']> {
    return this.#integration.abandonMerge(...args);
  }

  merge(...args: Parameters<Integration['merge']>): ReturnType<Integration['merge']> {
    return this.#integration.merge(...args);
  }

  abortTaskMerge(...args: Parameters<Integration['abortTaskMerge']>): ReturnType<Integration['abortTaskMerge']> {
    return this.#integration.abortTaskMerge(...args);
  }

  mergeIntegrationIntoTask(...args: Parameters<Integration['mergeIntegrationIntoTask']>): ReturnType<Integration['mergeIntegrationIntoTask']> {
    return this.#integration.mergeIntegrationIntoTask(...args);
  }

  isMerged(...args: Parameters<Integration['isMerged']>): ReturnType<Integration['isMerged']> {
    return this.#integration.isMerged(...args);
  }

  isAncestor(...args: Parameters<Integration['isAncestor']>): ReturnType<Integration['isAncestor']> {
    return this.#integration.isAncestor(...args);
  }

  // ------------------------------------------------------------------------ the run record

  /** The run record on `into` (see src/git/record.ts). */
  readRecord(into: string, run: string): Promise<RecordEntry[]> {
    return readRunRecord(this.#core.runner, this.root, into, run);
  }

  /** With --shard: what landed on the integration branch between two of its heads (see record.ts). */
  landingsBetween(from: string, to: string, run: string): Promise<{ sha: string; entry?: RecordEntry }[]> {
    return readLandingsBetween(this.#core.runner, this.root, from, to, run);
  }

  /** The failed records of `run` among the local refs (see src/git/failed-record.ts). */
  readFailedRecords(run: string): Promise<Map<string, FailedRecord>> {
    return readFailedRecords(this.#core.runner, this.root, run);
  }

  /** Whether `ancestor` is in `descendant`'s history; false when either is missing. */
  async contains(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.#core.atRoot(['merge-base', '--is-ancestor', ancestor, descendant])).exitCode === 0;
  }

  taskBranch(run: string, task: string): string {
    return taskBranch(run, task);
  }

  // ------------------------------------------------------------------------ commits and branches

  commitAll(...args: Parameters<History['commitAll']>): ReturnType<History['commitAll']> {
    return this.#history.commitAll(...args);
  }

  changedPaths(...args: Parameters<History['changedPaths']>): ReturnType<History['changedPaths']> {
    return this.#history.changedPaths(...args);
  }

  commitPaths(...args: Parameters<History['commitPaths']>): ReturnType<History['commitPaths']> {
    return this.#history.commitPaths(...args);
  }

  commitsBetween(...args: Parameters<History['commitsBetween']>): ReturnType<History['commitsBetween']> {
    return this.#history.commitsBetween(...args);
  }

  branchCommits(...args: Parameters<History['branchCommits']>): ReturnType<History['branchCommits']> {
    return this.#history.branchCommits(...args);
  }

  renameBranch(...args: Parameters<History['renameBranch']>): ReturnType<History['renameBranch']> {
    return this.#history.renameBranch(...args);
  }

  deleteBranch(...args: Parameters<History['deleteBranch']>): ReturnType<History['deleteBranch']> {
    return this.#history.deleteBranch(...args);
  }

  listTaskBranches(...args: Parameters<History['listTaskBranches']>): ReturnType<History['listTaskBranches']> {
    return this.#history.listTaskBranches(...args);
  }

  userCheckoutDirty(...args: Parameters<History['userCheckoutDirty']>): ReturnType<History['userCheckoutDirty']> {
    return this.#history.userCheckoutDirty(...args);
  }
}
