import PQueue from 'p-queue';
import type { Spec } from '../config/spec.js';
import { taskTrailers } from './record.js';
import { taskHash } from './resume.js';
import { type Live, messageOf, type RunContext } from './run-context.js';

/** With --shard: how many times one merge waits for an unreachable remote before the task fails. */
const MAX_UNREACHABLE = 8;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How a merge ended; the scheduler acts on it. */
export type MergeResult =
  | { readonly kind: 'merged' }
  | { readonly kind: 'conflict'; readonly files: readonly string[] }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'cancelled' }
  /** The integration branch is not where swarm left it. */
  | { readonly kind: 'moved'; readonly expected: string; readonly actual: string };

/**
 * One merge at a time, highest priority first (what unblocks the longest chain lands
 * first). A merge is made beside the integration branch in the `_merge` worktree, recorded
 * write-ahead, checked by `merge.check` through the shell port (with its events, the task's
 * timeout and the force-stop signal), and only then lands, by compare-and-swap from the head
 * swarm last wrote. Git moves the branch; this decides when.
 *
 * Invariants: the branch only ever moves from `ctx.head` to a merge whose check passed;
 * a task lands only the commit its audit judged (`Live.audited`), and only while it still
 * holds its lease; the record (`merge_base`, `merged_sha`) is written before the branch can
 * move, so recovery can tell a landed merge from one that did not (see recover.ts).
 */
export class MergeQueue {
  readonly #ctx: RunContext;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #settle: (id: string, result: MergeResult) => void;
  /** Aborts a running merge.check on a forced stop. */
  readonly #abort = new AbortController();
  /** Worktree removals (or parkings) still going on after their merge. */
  readonly #cleanups = new Set<Promise<void>>();

  constructor(ctx: RunContext, settle: (id: string, result: MergeResult) => void) {
    this.#ctx = ctx;
    this.#settle = settle;
  }

  /** Merges queued or in progress. */
  get busy(): boolean {
    return this.#queue.size > 0 || this.#queue.pending > 0;
  }

  enqueue(id: string, priority: number, guard: (work: () => Promise<void>) => Promise<void>, done: () => void): void {
    const ctx = this.#ctx;
    ctx.emit({ type: 'merge', reason: 'queued', task: id, run: ctx.name, at: ctx.now() });
    void this.#queue.add(() => guard(async () => this.#settle(id, await this.#merge(id))), { priority }).finally(done);
  }

  /** Runs `work` between merges, ahead of queued ones (with --shard: a look at the remote that may move the branch). */
  exclusive(work: () => Promise<void>, done: () => void): void {
    const ctx = this.#ctx;
    const guarded = () => work().catch((e: unknown) => ctx.log('warning', messageOf(e)));
    void this.#queue.add(guarded, { priority: Number.MAX_SAFE_INTEGER }).finally(done);
  }

  forceStop(): void {
    this.#abort.abort();
  }

  /** Every merge and the worktree cleanups after them are done. */
  async idle(): Promise<void> {
    await this.#queue.onIdle();
    await Promise.all(this.#cleanups);
  }

  async #merge(id: string): Promise<MergeResult> {
    const ctx = this.#ctx;
    const live = ctx.live.get(id)!;
    const { spec } = ctx;
    const { store } = ctx.o;
    if (ctx.forced || ctx.fatal !== undefined) return { kind: 'cancelled' };
    ctx.transition(id, 'merging');
    ctx.emit({ type: 'merge', reason: 'started', task: id, run: spec.name, at: ctx.now() });
    // A zombie from an older attempt, or a task whose lease was taken over, must never land.
    if (!live.lease || !store.isCurrent(live.lease.id, live.lease.token)) {
      return { kind: 'failed', detail: 'its lease was lost (expired or taken over) before the merge; not merged' };
    }
    const sha = live.audited;
    if (sha === undefined) return { kind: 'failed', detail: 'it reached the merge queue without a passing audit; not merged' };
    // A refusal means another shard landed something: merge again on its head at once (with a
    // little jitter), and without a limit of its own, as the run's landings are finite. An
    // unreachable remote is waited for, with backoff, a bounded number of times.
    let unreachable = 0;
    for (let round = 1; ; round++) {
      const result = await this.#mergeOnce(id, live, sha);
      if (result.kind !== 'raced') return result;
      const remote = ctx.shard?.remote ?? 'the remote';
      if (result.unreachable) unreachable++;
      if (unreachable >= MAX_UNREACHABLE || round >= 4 * ctx.tasks.size + MAX_UNREACHABLE) {
        return {
          kind: 'failed',
          detail: `its merge could not be pushed to ${remote} after ${round} tries (${result.detail}); not merged. Run this shard again`,
        };
      }
      ctx.log('info', `task ${id}: ${result.detail}; merging again on ${remote}'s new head`);
      await sleep(result.unreachable ? Math.min(30_000, 500 * 2 ** unreachable) * (0.5 + Math.random()) : 50 + Math.random() * 250);
      if (ctx.forced || ctx.fatal !== undefined) return { kind: 'cancelled' };
    }
  }

  /**
   * One try: with --shard, on the remote's head first (a task already landed there is not
   * landed again), and pushed before it lands here; `raced` when the remote moved meanwhile.
   */
  async #mergeOnce(
    id: string,
    live: Live,
    sha: string,
  ): Promise<MergeResult | { readonly kind: 'raced'; readonly detail: string; readonly unreachable?: true }> {
    const ctx = this.#ctx;
    const task = ctx.tasks.get(id)!;
    const { spec } = ctx;
    const { git, store } = ctx.o;
    const shard = ctx.shard;
    if (shard) {
      const synced = await shard.syncHead();
      if (synced.kind === 'unreachable') return { kind: 'raced', detail: synced.message, unreachable: true };
      if (synced.kind === 'diverged') {
        ctx.stopOnFatal(synced.message);
        return { kind: 'cancelled' };
      }
      const landed = await shard.landedAlready(id);
      if (landed !== undefined) {
        ctx.log('info', `task ${id}: already landed on ${shard.remote} (${landed.slice(0, 12)}), with this definition; not merged twice`);
        return this.#merged(id, live, landed, sha, true);
      }
    }
    const strategy = await this.#strategyFor(id, live, sha);
    const expected = ctx.head;
    const message = `swarm(${id}): ${task.title}`;
    const trailers = taskTrailers(spec.name, id, taskHash(spec, task), sha, shard?.label);
    const prepared = await git.prepareMerge({ run: spec.name, into: spec.into, sha, expected, strategy, message, trailers });
    ctx.o.crashPoint?.('merge:prepared');
    if (prepared.kind === 'moved') return { kind: 'moved', expected, actual: prepared.actual };
    if (prepared.kind === 'conflict') return { kind: 'conflict', files: prepared.files };
    // Write-ahead: before the branch can move, the record says where it was and where it goes.
    store.updateTask(spec.name, id, { mergeBase: expected, mergedSha: prepared.commit });
    ctx.o.crashPoint?.('merge:intent');
    if (spec.merge.check) {
      const res = await ctx.shell(id, 'merge', spec.merge.check, { cwd: prepared.cwd, signal: this.#abort.signal, timeoutMs: task.timeoutMs });
      ctx.o.crashPoint?.('merge:checked');
      if (res.exitCode !== 0) {
        await git.abandonMerge(spec.name, spec.into);
        store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
        if (res.cancelled) return { kind: 'cancelled' };
        const how = res.timedOut ? `timed out after ${Math.round(task.timeoutMs / 1000)}s` : `failed on its merge (exit ${res.exitCode ?? res.signal})`;
        ctx.emit({ type: 'merge', reason: 'undone', task: id, detail: res.output.slice(-2000), run: spec.name, at: ctx.now() });
        return { kind: 'failed', detail: `merge.check \`${spec.merge.check}\` ${how}; the integration branch did not move` };
      }
    }
    if (shard && prepared.commit !== expected) {
      // Out to the other shards first: a merge here that the remote refused would diverge from it.
      const pushed = await shard.push(prepared.commit);
      if (!pushed.ok) {
        await git.abandonMerge(spec.name, spec.into);
        store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
        // Moved meanwhile: another shard landed first. Anything else (no permission, a hook's veto) is waited for like an unreachable remote.
        if (/stale info|fetch first|non-fast-forward/.test(pushed.error)) {
          return { kind: 'raced', detail: `${shard.remote} refused its merge (another shard pushed first: ${pushed.error})` };
        }
        return { kind: 'raced', detail: `${shard.remote} refused its merge: ${pushed.error}`, unreachable: true };
      }
    }
    ctx.o.crashPoint?.('merge:pushed');
    if (!(await git.landMerge({ run: spec.name, into: spec.into, commit: prepared.commit, expected, task: id }))) {
      store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
      return { kind: 'moved', expected, actual: await git.integrationHead(spec.into) };
    }
    ctx.o.crashPoint?.('merge:landed');
    ctx.head = prepared.commit;
    store.setIntegrationHead(spec.name, prepared.commit);
    ctx.o.crashPoint?.('merge:recorded');
    ctx.o.publish?.landed(prepared.commit, (refused) => ctx.stopOnFatal(refused));
    return this.#merged(id, live, prepared.commit, sha, prepared.commit === expected);
  }

  /** The task's work is on the integration branch at `commit`: recorded, told, its lease and worktree let go. */
  async #merged(id: string, live: Live, commit: string, sha: string, empty: boolean): Promise<MergeResult> {
    const ctx = this.#ctx;
    const { spec } = ctx;
    const { git, store } = ctx.o;
    // After the merge: whatever reached the branch up to now, during merge.check too, is told.
    await this.#reportLateCommits(id, live, sha);
    const isEmpty = empty || live.empty === true;
    ctx.emit({ type: 'merge', reason: 'merged', task: id, commit, ...(isEmpty ? { empty: true as const } : {}), run: spec.name, at: ctx.now() });
    store.recordDuration(id, Math.max(1, live.agentMs));
    ctx.transition(id, 'merged', { mergedSha: commit, mergeBase: undefined, endedAt: ctx.now() });
    ctx.releaseLease(id);
    if (!ctx.o.keepWorktrees && live.worktree) {
      // Not in the merge queue's time: the next merge need not wait for files to be deleted.
      const release = git.releaseWorktree(live.worktree).catch((e: unknown) => ctx.log('warning', `task ${id}: worktree kept: ${messageOf(e)}`));
      this.#cleanups.add(release);
      void release.finally(() => this.#cleanups.delete(release));
    }
    return { kind: 'merged' };
  }

  /** Commits that reached the task branch after its audit are not merged: say so, as violations. */
  async #reportLateCommits(id: string, live: Live, audited: string): Promise<void> {
    const ctx = this.#ctx;
    if (!live.branch) return;
    const tip = await ctx.o.git.resolve(`refs/heads/${live.branch}`).catch(() => audited);
    if (tip === audited) return;
    const late = await ctx.o.git.commitsBetween(audited, tip).catch(() => []);
    for (const c of late.length > 0 ? late : [{ sha: tip, subject: '(the branch was moved)' }]) {
      const path = `${c.sha.slice(0, 12)} ${c.subject}`;
      ctx.emit({ type: 'lease', reason: 'violation', task: id, path, where: 'merge', blocked: true, run: ctx.name, at: ctx.now() });
    }
    ctx.log('warning', `task ${id}: ${live.branch} moved after its audit (now ${tip.slice(0, 12)}); only the audited commit ${audited.slice(0, 12)} is merged`);
  }

  /**
   * A branch whose history holds a change the audit refused (made, then reverted on a
   * retry) lands as one squash commit, so the refused change never enters the integration
   * history; the diff as a whole passed the audit.
   */
  async #strategyFor(id: string, live: Live, sha: string): Promise<Spec['merge']['strategy']> {
    const ctx = this.#ctx;
    const strategy = ctx.spec.merge.strategy;
    const enforcement = ctx.o.enforcement;
    if (strategy === 'squash' || !enforcement || ctx.spec.lease.enforce !== 'block' || !live.startSha) return strategy;
    const touched = await ctx.o.git.commitPaths(sha, [live.startSha, ctx.head]);
    const refused = enforcement.audit(touched, ctx.tasks.get(id)!.files);
    if (refused.length === 0) return strategy;
    ctx.log(
      'info',
      `task ${id}: its history holds commits that changed files outside its globs (${refused.slice(0, 5).join(', ')}), later undone; it is merged as one squash commit so they stay out of ${ctx.spec.into}`,
    );
    return 'squash';
  }
}
