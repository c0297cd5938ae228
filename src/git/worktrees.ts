import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Worktree } from '../engine/ports.js';
import { err, ok, type Result } from '../util/result.js';
import { GitError } from './errors.js';
import { commandFailed } from './exec.js';
import { hasMergeHead } from './merge.js';
import { badName, MERGE_DIR, taskBranch } from './names.js';
import { canonical, FULL_SHA, type GitCore, isInside, isLinkedWorktree, plainTaskBranch, samePath } from './core.js';

export interface RunWorktree {
  readonly path: string;
  /** The folder name: a task id, or `_merge`. */
  readonly name: string;
  readonly branch?: string;
  readonly head?: string;
  readonly isMerge: boolean;
}

/**
 * Task worktrees: made, reused from a pool, removed. Everything here that changes git's
 * worktree list runs under the core's `admin` lock.
 *
 * Cache: `parked`, the pool: clean worktrees with a detached HEAD, by run, in this process
 * only (a crashed runner's pool is cleaned by recovery, like any merged task's worktree).
 * A parked worktree is checked again (`reusable`) before it is handed out, and one that
 * cannot move on is given up.
 */
export class Worktrees {
  readonly #core: GitCore;
  readonly #poolSize: number;
  /** Parked worktrees by run: clean, detached, ready to move to a new task's start point. */
  readonly #parked = new Map<string, string[]>();
  /** Runs whose pool was drained (their run ended): nothing of theirs is parked again until they start a task. */
  readonly #drained = new Set<string>();

  constructor(core: GitCore, poolSize: number) {
    this.#core = core;
    this.#poolSize = poolSize;
  }

  /**
   * Worktree changes are serialized (git's own locks race); on failure leaves neither a
   * worktree nor a branch that this call made. With a pool, a parked worktree is reused.
   */
  async createWorktree(run: string, task: string, from: string): Promise<Result<Worktree, string>> {
    const bad = badName('run', run) ?? badName('task', task);
    if (bad !== undefined) return err(bad);
    this.#drained.delete(run);
    await this.#core.ensureExcluded();
    const path = this.#core.worktreePath(run, task);
    const branch = taskBranch(run, task);
    // A parked worktree is switched to the new branch before taking the lock: that touches
    // only its own index and one new ref, so starts do not queue behind each other's checkouts.
    const prepared = FULL_SHA.test(from) && plainTaskBranch(branch) && !existsSync(path) ? await this.#prepareParked(run, branch, from) : undefined;
    return this.#core.admin.run(async () => {
      // The common case, a new task whose folder does not exist yet, in as few git calls as
      // possible; anything unusual (resume, a leftover folder, a bad start) takes the careful way.
      // A move onto a folder that appeared meanwhile fails, and undoes the preparation.
      const reused = await this.#reuseParked(path, branch, from, prepared);
      if (reused !== undefined) return ok(reused);
      if (FULL_SHA.test(from) && plainTaskBranch(branch) && !existsSync(path)) {
        await mkdir(dirname(path), { recursive: true });
        const out = await this.#core.atRoot(['worktree', 'add', '-q', '--no-track', '-b', branch, path, from]);
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
      const switched = await this.#core.runner.run(['checkout', '-q', '--no-track', '-b', branch, from], { cwd: candidate });
      if (switched.exitCode === 0) return candidate;
      if (await this.#core.branchExists(branch)) {
        // A resumed task keeps its own branch: the careful way checks it out; this one waits for another task.
        parked?.push(candidate);
        return undefined;
      }
      await this.#core.admin.run(() => this.#giveUp(candidate));
    }
    return undefined;
  }

  /** Under the admin lock: moves a prepared worktree (already on `branch` at `from`) to the task's folder. */
  async #reuseParked(path: string, branch: string, from: string, prepared: string | undefined): Promise<Worktree | undefined> {
    if (prepared === undefined) return undefined;
    const moved = await this.#core.atRoot(['worktree', 'move', prepared, path]);
    if (moved.exitCode === 0) return { path, branch, startSha: from };
    // Put it back as it was: detached, without the branch it just made (nothing is on it yet).
    await this.#core.runner.run(['checkout', '-q', '--detach'], { cwd: prepared });
    await this.#core.atRoot(['branch', '-D', branch]);
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
      return !(await this.#core.isDirty(path));
    } catch {
      return false;
    }
  }

  async #giveUp(worktree: string): Promise<void> {
    // Not --force: a worktree with anything in it that git would call unclean stays on disk.
    await this.#core.atRoot(['worktree', 'remove', worktree]);
  }

  /**
   * The task is merged and done with its worktree. With a pool, a clean worktree is parked
   * (HEAD detached, so its branch is free) for the next task, unless the pool is full;
   * otherwise it is removed. Throws a `dirty` GitError, and keeps it, when it holds
   * uncommitted changes.
   */
  async releaseWorktree(path: string): Promise<void> {
    const run = this.#runOf(path);
    if (run !== undefined && this.#drained.has(run)) return this.removeWorktree(path);
    const parked = run === undefined ? undefined : (this.#parked.get(run) ?? []);
    if (run === undefined || parked === undefined || parked.length >= this.#poolSize || !isLinkedWorktree(path)) return this.removeWorktree(path);
    if (await this.#core.isDirty(path)) {
      throw new GitError('dirty', `${path} holds uncommitted changes; commit them, or remove it with --force to discard them`);
    }
    const detached = await this.#core.runner.run(['checkout', '-q', '--detach'], { cwd: path });
    if (detached.exitCode !== 0) return this.removeWorktree(path);
    parked.push(path);
    this.#parked.set(run, parked);
  }

  /**
   * Removes the run's parked worktrees (at the end of a run), and any other detached,
   * clean worktree in the run's folder: only the pool leaves one there (task worktrees are
   * on their branches, `_merge` on the integration branch), so one the pool lost track of,
   * or could not give up before, goes too. Those git calls unclean stay. A worktree
   * released after this is removed, not parked, until the run starts a task again.
   */
  async drainPool(run: string): Promise<void> {
    const parked = this.#parked.get(run) ?? [];
    this.#parked.delete(run);
    this.#drained.add(run);
    await this.#core.admin.run(async () => {
      for (const path of parked) await this.#giveUp(path);
      const folder = canonical(join(this.#core.worktreesRoot, run));
      for (const e of await this.#core.worktrees()) {
        if (e.branch !== undefined || e.prunable || e.bare || !isInside(folder, canonical(e.path)) || e.path.endsWith(`${sep}${MERGE_DIR}`)) continue;
        if (!(await this.#core.isDirty(e.path).catch(() => true))) await this.#giveUp(e.path);
      }
      await rmdir(join(this.#core.worktreesRoot, run)).catch(() => undefined);
    });
  }

  /** The run a task worktree's path belongs to, or undefined for any other path. */
  #runOf(path: string): string | undefined {
    const rel = relative(this.#core.worktreesRoot, path).split(sep);
    if (rel.length !== 2 || rel[0] === '..' || rel[1] === MERGE_DIR) return undefined;
    return badName('run', rel[0] ?? '') === undefined ? rel[0] : undefined;
  }

  async #createWorktree(run: string, task: string, from: string): Promise<Result<Worktree, string>> {
    const path = this.#core.worktreePath(run, task);
    const branch = taskBranch(run, task);
    const fail = (why: string) => err(`cannot start task ${task}: ${why}`);
    const start = await this.#core.resolveCommit(from);
    if (!start.ok) return fail(start.error);
    const refCheck = await this.#core.atRoot(['check-ref-format', '--branch', branch]);
    if (refCheck.exitCode !== 0) return fail(`${branch} is not a valid branch name`);

    const entries = await this.#core.worktrees();
    const here = entries.find((e) => samePath(e.path, path));
    const branchExists = await this.#core.branchExists(branch);
    if (here !== undefined && !here.prunable) {
      if (here.branch === branch) return ok({ path, branch, startSha: await this.#startOf(branch, start.value) });
      // A worktree the pool parked (detached) and could not give up at the end of a run,
      // e.g. when git was busy: clean and on no branch, so removing it loses nothing.
      const leftover = here.branch === undefined && !(await this.#core.isDirty(path));
      if (leftover) await this.#giveUp(path);
      if (!leftover || (await this.#core.worktrees()).some((e) => samePath(e.path, path))) {
        return fail(`${path} is already a worktree on ${here.branch ?? 'a detached HEAD'}, not ${branch}; run \`swarm clean ${run}\``);
      }
    }
    // Its folder was deleted by hand: drop git's record of it so the path can be reused.
    if (here?.prunable) await this.#core.atRoot(['worktree', 'remove', '--force', path]);
    const elsewhere = entries.find((e) => e.branch === branch && !e.prunable && !samePath(e.path, path));
    if (elsewhere !== undefined) return fail(`branch ${branch} is checked out in ${elsewhere.path}`);
    const folderExisted = existsSync(path);
    if (folderExisted && (await readdir(path)).length > 0) {
      return fail(`${path} exists and is not a worktree of this repository; move it away or run \`swarm clean ${run}\``);
    }

    await mkdir(dirname(path), { recursive: true });
    // Resume: an existing branch is checked out as it is, never reset, so committed work stays.
    const args = branchExists ? ['worktree', 'add', '-q', path, branch] : ['worktree', 'add', '-q', '--no-track', '-b', branch, path, start.value];
    const out = await this.#core.atRoot(args);
    if (out.exitCode === 0) {
      return ok({ path, branch, startSha: branchExists ? await this.#startOf(branch, start.value) : start.value });
    }
    await this.#undoStart(path, branch, { createdBranch: !branchExists, folderExisted });
    const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join('\n');
    return fail(`git worktree add failed: ${detail}`);
  }

  /** Removes exactly what a failed `worktree add` left: the registration, the folder and a new branch. */
  async #undoStart(path: string, branch: string, made: { createdBranch: boolean; folderExisted: boolean }): Promise<void> {
    if ((await this.#core.worktrees()).some((e) => samePath(e.path, path))) {
      await this.#core.atRoot(['worktree', 'remove', '--force', path]);
    }
    if (!made.folderExisted) await rm(path, { recursive: true, force: true });
    if (made.createdBranch && (await this.#core.branchExists(branch))) await this.#core.atRoot(['branch', '-D', branch]);
  }

  /** Where a resumed branch's own work begins relative to `from`. */
  async #startOf(branch: string, from: string): Promise<string> {
    const base = await this.#core.atRoot(['merge-base', from, `refs/heads/${branch}`]);
    return base.exitCode === 0 ? base.stdout.trim() : from;
  }

  // ------------------------------------------------------------------------ cleaning up

  /**
   * Removes one of swarm's worktrees. Throws a `dirty` GitError when it holds uncommitted
   * changes (untracked files included) unless `force`, and `protected` for any folder
   * outside swarm's worktrees. Removing one that is already gone is not an error.
   */
  async removeWorktree(path: string, opts: { force?: boolean } = {}): Promise<void> {
    const target = canonical(path);
    if (!isInside(canonical(this.#core.worktreesRoot), target) || samePath(target, this.#core.root)) {
      throw new GitError('protected', `${path} is not one of swarm's worktrees (under ${this.#core.worktreesRoot}); swarm leaves it alone`);
    }
    for (const parked of this.#parked.values()) {
      const at = parked.findIndex((p) => samePath(p, path));
      if (at >= 0) parked.splice(at, 1);
    }
    await this.#core.admin.run(async () => {
      // Without --force git itself refuses a worktree with modified or untracked files, so a
      // clean one goes in one call; a refusal takes the careful way below, which says why.
      if (!opts.force && existsSync(path) && !(await hasMergeHead(this.#core.runner, path))) {
        const out = await this.#core.atRoot(['worktree', 'remove', path]);
        if (out.exitCode === 0) {
          await rmdir(dirname(path)).catch(() => undefined);
          return;
        }
      }
      const entry = (await this.#core.worktrees()).find((e) => samePath(e.path, path));
      if (entry === undefined) return;
      if (!entry.prunable && !opts.force && (await this.#core.isDirty(entry.path))) {
        throw new GitError('dirty', `${path} holds uncommitted changes; commit them, or remove it with --force to discard them`);
      }
      const force = opts.force || entry.prunable ? ['--force'] : [];
      const out = await this.#core.atRoot(['worktree', 'remove', ...force, entry.path]);
      if (out.exitCode !== 0) throw commandFailed(['worktree', 'remove', path], out);
      // The run's folder goes with its last worktree; a non-empty one stays.
      await rmdir(dirname(entry.path)).catch(() => undefined);
    });
  }

  /** The run's worktrees (tasks and the merge worktree), sorted by path. */
  async listRunWorktrees(run: string): Promise<RunWorktree[]> {
    const dir = join(this.#core.worktreesRoot, run);
    return (await this.#core.worktrees())
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
}
