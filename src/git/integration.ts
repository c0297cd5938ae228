import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MergeStrategy } from '../config/spec.js';
import type { PreparedMerge } from '../engine/ports.js';
import { runCheck } from './check.js';
import { GitError } from './errors.js';
import { commandFailed } from './exec.js';
import { applyStrategy, hasMergeHead, settleMergeWorktree, SOURCE_TRAILER, unmergedPaths } from './merge.js';
import { Mutex } from './mutex.js';
import { TASK_BRANCH_PREFIX } from './names.js';
import { type GitCore, SAFE_MERGE, samePath } from './core.js';

/** How `merge()` (prepare, check, land in one call; for tests and tools) ended. */
export type MergeOutcome =
  | { readonly kind: 'merged'; readonly commit: string }
  | { readonly kind: 'conflict'; readonly files: readonly string[] }
  | { readonly kind: 'check-failed'; readonly output: string; readonly exitCode: number | null };

/**
 * The integration branch and its merge worktree. The branch moves only here, by
 * compare-and-swap (`landMerge`), one merge at a time under `merges`.
 *
 * Cache: `mergeWorktrees` (`run` -> `into`), merge worktrees this process already checked;
 * checked again when the folder is gone. Invariant: between merges the merge worktree is
 * on `into`, clean, at its head (`settleMergeWorktree` puts it back whatever a crash left).
 */
export class Integration {
  readonly #core: GitCore;
  /** The integration branch moves only in its merge worktree, one merge at a time. */
  readonly #merges = new Mutex();
  /** Merge worktrees this process already checked (`run` -> `into`); checked again only if gone. */
  readonly #mergeWorktrees = new Map<string, string>();

  constructor(core: GitCore) {
    this.#core = core;
  }

  /** Runs `fn` between two merges, when the merge worktree is at rest (for the tamper detection's look at it). */
  betweenMerges<T>(fn: () => Promise<T>): Promise<T> {
    return this.#merges.run(fn);
  }

  /**
   * Creates `into` at `baseSha` when it does not exist (an existing branch is never moved)
   * and, given the run, checks it out in the run's merge worktree. Refuses when `into` is
   * checked out anywhere else, the user's own checkout above all: swarm would move a
   * branch under someone's feet.
   */
  async ensureIntegrationBranch(into: string, baseSha: string, run?: string): Promise<string> {
    await this.#core.checkBranchName(into);
    if (into.startsWith(TASK_BRANCH_PREFIX)) {
      throw new GitError('bad-input', `into: ${into} is inside ${TASK_BRANCH_PREFIX}, where swarm keeps task branches; choose another name`);
    }
    if (run !== undefined) this.#core.checkName('run', run);
    this.#core.integrationBranches.add(into);
    await this.#core.ensureExcluded();
    return this.#core.admin.run(async () => {
      const exists = await this.#core.branchExists(into);
      if (!exists) {
        const base = await this.#core.resolve(baseSha);
        // The empty old value makes this create-only: a branch made meanwhile is not moved.
        const out = await this.#core.atRoot(['update-ref', '-m', 'swarm: integration branch', `refs/heads/${into}`, base, '']);
        if (out.exitCode !== 0 && !(await this.#core.branchExists(into))) throw commandFailed(['update-ref', into], out);
      }
      const mergePath = run === undefined ? undefined : this.#core.mergeWorktreePath(run);
      const holder = (await this.#core.worktrees()).find((e) => e.branch === into && !e.prunable && (mergePath === undefined || !samePath(e.path, mergePath)));
      if (holder !== undefined) throw this.#core.checkedOutError(into, holder);
      if (run !== undefined) await this.#ensureMergeWorktree(run, into);
      return this.#core.integrationHead(into);
    });
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
    this.#core.checkName('run', opts.run);
    return this.#merges.run(async () => {
      const cwd = await this.#mergeWorktree(opts.run, opts.into);
      const actual = await this.#core.integrationHead(opts.into);
      if (actual !== opts.expected) return { kind: 'moved', actual };
      const runner = this.#core.mergeRunner;
      await settleMergeWorktree(runner, cwd, opts.expected);
      const outcome = await applyStrategy(runner, {
        cwd,
        onto: opts.expected,
        taskSha: opts.sha,
        strategy: opts.strategy,
        message: opts.message,
        identity: await this.#core.identity(cwd),
        trailers: opts.trailers ?? (opts.strategy === 'merge' ? [] : [`${SOURCE_TRAILER}: ${opts.sha}`]),
      });
      if (outcome.kind === 'conflict') {
        // Back at the branch's head, and on the branch again, as between merges.
        await runner.run(['symbolic-ref', 'HEAD', `refs/heads/${opts.into}`], { cwd });
        return outcome;
      }
      let commit = await runner.ok(['rev-parse', 'HEAD'], { cwd });
      if (commit === opts.expected && opts.trailers !== undefined && opts.trailers.length > 0) {
        // The work was already there (or there was none): an empty commit still carries the
        // run record, so a fresh clone knows the task is done and does not run it again.
        const args = [...(await this.#core.identity(cwd)), 'commit', '-q', '--allow-empty', '--no-verify', '-m', opts.message, '-m', opts.trailers.join('\n')];
        await runner.ok(args, { cwd });
        commit = await runner.ok(['rev-parse', 'HEAD'], { cwd });
      }
      return { kind: 'prepared', commit, cwd };
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
      const cwd = this.#core.mergeWorktreePath(opts.run);
      const out = await this.#core.mergeRunner.run(['update-ref', '-m', `swarm: merge ${opts.task}`, `refs/heads/${opts.into}`, opts.commit, opts.expected], {
        cwd: this.#core.root,
      });
      if (out.exitCode !== 0) return false;
      // HEAD is detached at `commit`, which the branch now names: attaching changes no file.
      await this.#core.mergeRunner.run(['symbolic-ref', 'HEAD', `refs/heads/${opts.into}`], { cwd });
      return true;
    });
  }

  /**
   * Moves the integration branch forward to `to` (with --shard, the remote's head), from
   * `expected` by compare-and-swap, and its merge worktree with it, as one step between
   * merges: no look at the worktree sees it half-way. False when the branch was not at `expected`.
   */
  async advance(opts: { run: string; into: string; to: string; expected: string }): Promise<boolean> {
    return this.#merges.run(async () => {
      const out = await this.#core.mergeRunner.run(
        ['update-ref', '-m', "swarm: fast-forward to the shards' remote head", `refs/heads/${opts.into}`, opts.to, opts.expected],
        {
          cwd: this.#core.root,
        },
      );
      if (out.exitCode !== 0) return false;
      const cwd = this.#core.mergeWorktreePath(opts.run);
      if (existsSync(cwd)) {
        await settleMergeWorktree(this.#core.mergeRunner, cwd, opts.to);
        await this.#core.mergeRunner.run(['symbolic-ref', 'HEAD', `refs/heads/${opts.into}`], { cwd });
      }
      return true;
    });
  }

  /** Gives up a prepared merge: the merge worktree goes back to the branch's head, clean. */
  async abandonMerge(run: string, into: string): Promise<void> {
    await this.#merges.run(async () => {
      const cwd = this.#core.mergeWorktreePath(run);
      if (!existsSync(cwd)) return;
      await settleMergeWorktree(this.#core.mergeRunner, cwd, await this.#core.integrationHead(into));
      await this.#core.mergeRunner.run(['symbolic-ref', 'HEAD', `refs/heads/${into}`], { cwd });
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
    const expected = await this.#core.integrationHead(opts.into);
    const sha = await this.#core.resolve(`refs/heads/${opts.branch}`);
    const prepared = await this.prepareMerge({ ...opts, sha, expected });
    if (prepared.kind !== 'prepared') return prepared;
    if (opts.check !== undefined) {
      const env = { ...this.#core.runner.env, ...(opts.env ?? {}) };
      const result = await runCheck(opts.check, { cwd: prepared.cwd, env, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (!result.ok) {
        await this.abandonMerge(opts.run, opts.into);
        const output = result.cancelled ? `${result.output}\n(check stopped: the run is stopping)` : result.output;
        return { kind: 'check-failed', output, exitCode: result.exitCode };
      }
    }
    const landed = await this.landMerge({ ...opts, commit: prepared.commit, expected });
    return landed ? { kind: 'merged', commit: prepared.commit } : { kind: 'moved', actual: await this.#core.integrationHead(opts.into) };
  }

  /** The merge worktree's path, made (or checked) once per run by this process. */
  async #mergeWorktree(run: string, into: string): Promise<string> {
    const mergePath = this.#core.mergeWorktreePath(run);
    // Checked once per run: only the worktree's disappearance needs looking for afterwards.
    if (this.#mergeWorktrees.get(run) === into && existsSync(join(mergePath, '.git'))) return mergePath;
    await this.#core.integrationHead(into);
    const cwd = await this.#core.admin.run(async () => {
      const holder = (await this.#core.worktrees()).find((e) => e.branch === into && !e.prunable && !samePath(e.path, mergePath));
      if (holder !== undefined) throw this.#core.checkedOutError(into, holder);
      return this.#ensureMergeWorktree(run, into);
    });
    this.#mergeWorktrees.set(run, into);
    this.#core.integrationBranches.add(into);
    return cwd;
  }

  /** Must run under `#admin`. Returns the merge worktree's path, creating it when missing. */
  async #ensureMergeWorktree(run: string, into: string): Promise<string> {
    const path = this.#core.mergeWorktreePath(run);
    const entry = (await this.#core.worktrees()).find((e) => samePath(e.path, path));
    if (entry !== undefined && !entry.prunable) {
      // Detached is what a crash in the middle of a rebase leaves; settling puts it back on `into`.
      if (entry.branch === into || entry.detached) return entry.path;
      throw new GitError('checked-out', `the merge worktree ${path} is on ${entry.branch ?? '?'}, not ${into}; run \`swarm clean ${run}\``);
    }
    if (entry?.prunable) await this.#core.atRoot(['worktree', 'remove', '--force', path]);
    if (existsSync(path) && (await readdir(path)).length > 0) {
      throw new GitError('protected', `${path} exists and is not a worktree of this repository; move it away`);
    }
    await mkdir(dirname(path), { recursive: true });
    // Hooks off, as for everything else the merge worktree does (post-checkout, reference-transaction).
    const out = await this.#core.mergeRunner.run(['worktree', 'add', '-q', path, into], { cwd: this.#core.root });
    if (out.exitCode !== 0) {
      await this.#core.atRoot(['worktree', 'remove', '--force', path]);
      throw commandFailed(['worktree', 'add', path, into], out);
    }
    return path;
  }

  /**
   * Undoes a merge of the integration branch left unfinished in a task worktree (a conflict
   * resolution that failed, or whose runner died); true when there was one.
   */
  async abortTaskMerge(worktree: string): Promise<boolean> {
    if (!(await hasMergeHead(this.#core.runner, worktree))) return false;
    await this.#core.runner.ok(['merge', '--abort'], { cwd: worktree });
    return true;
  }

  /**
   * Merges the integration head into the task branch in its worktree. On conflict the
   * markers stay uncommitted (MERGE_HEAD set) for the agent to resolve; `commitAll`
   * concludes the merge afterwards. Without conflict the merge is committed at once.
   */
  async mergeIntegrationIntoTask(worktree: string, into: string, head: string): Promise<{ conflicted: string[] }> {
    if (await hasMergeHead(this.#core.runner, worktree)) {
      // A retry finds the merge it started: same integration head, keep the agent's progress.
      const pending = await this.#core.runner.ok(['rev-parse', 'MERGE_HEAD'], { cwd: worktree });
      if (pending === head) return { conflicted: await unmergedPaths(this.#core.runner, worktree) };
      await this.#core.runner.ok(['merge', '--abort'], { cwd: worktree });
    }
    // git labels the markers with the name it was given: the branch's name when it names
    // exactly the head swarm means, so `>>>>>>> swarm/<run>` says where the other side came from.
    const named = (await this.#core.integrationHead(into).catch(() => undefined)) === head ? into : head;
    const args = [...SAFE_MERGE, 'merge', '-q', '--no-ff', '--no-commit', named];
    const out = await this.#core.runner.run(args, { cwd: worktree });
    if (out.exitCode !== 0) {
      const conflicted = await unmergedPaths(this.#core.runner, worktree);
      if (conflicted.length > 0) return { conflicted };
      throw commandFailed(args, out);
    }
    if (await hasMergeHead(this.#core.runner, worktree)) {
      const identity = await this.#core.identity(worktree);
      const message = `Merge ${into} into ${await this.#core.currentBranch(worktree)}`;
      // --no-verify: these are other tasks' files, already merged; a lease guard would refuse them.
      await this.#core.runner.ok([...identity, 'commit', '-q', '--no-verify', '-m', message], { cwd: worktree });
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
    const tip = await this.#core.resolveCommit(`refs/heads/${branch}`);
    const target = await this.#core.resolveCommit(`refs/heads/${into}`);
    if (!tip.ok || !target.ok) return false;
    const ancestor = await this.#core.atRoot(['merge-base', '--is-ancestor', tip.value, target.value]);
    if (ancestor.exitCode === 0) return true;
    // A squash commit names the commit it squashed: exact, whatever came after it.
    const squashed = await this.#core.atRoot([
      'log',
      '--first-parent',
      '--format=%H',
      '-n1',
      '-E',
      `--grep=^Swarm-(Source|Commit): ${tip.value}$`,
      target.value,
    ]);
    if (squashed.exitCode === 0 && squashed.stdout.trim() !== '') return true;
    const merged = await this.#core.atRoot(['merge-tree', '--write-tree', '--no-messages', target.value, tip.value]);
    if (merged.exitCode === 0) {
      const tree = await this.#core.atRoot(['rev-parse', `${target.value}^{tree}`]);
      return merged.stdout.split('\n')[0]?.trim() === tree.stdout.trim();
    }
    if (merged.exitCode === 1) return false;
    // git older than 2.38 has no `merge-tree --write-tree`: fall back to patch identity.
    const cherry = await this.#core.atRoot(['cherry', target.value, tip.value]);
    const lines = cherry.stdout.split('\n').filter((l) => l.trim() !== '');
    return cherry.exitCode === 0 && lines.every((l) => l.startsWith('-'));
  }

  /** Whether commit `sha` is in `into`'s history; false when either is missing. */
  async isAncestor(sha: string, into: string): Promise<boolean> {
    const target = await this.#core.resolveCommit(`refs/heads/${into}`);
    if (!target.ok || !/^[0-9a-f]{4,64}$/i.test(sha)) return false;
    return (await this.#core.atRoot(['merge-base', '--is-ancestor', sha, target.value])).exitCode === 0;
  }
}
