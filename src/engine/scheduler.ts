import PQueue from 'p-queue';
import { MergeQueue, type MergeResult } from './merge-queue.js';
import { RateLimiter } from './rate-limit.js';
import { describeForeignMove } from './recover.js';
import { messageOf, type RunContext } from './run-context.js';
import { type TaskOutcome, TaskRun } from './task-run.js';
import { ACTIVE_STATES, canTransition, FAILED_STATES, TERMINAL_STATES, type TaskState } from './task-state.js';
import { UsageLimit } from './usage-limit.js';
import { err, ok, type Result } from '../util/result.js';

/** The states `swarm retry` takes a task out of. */
const RETRYABLE: ReadonlySet<TaskState> = new Set(['failed', 'conflicted', 'cancelled']);

const MAX_CONFLICT_ROUNDS = 2;

/**
 * Decides what runs when. A task is ready when every dependency is merged; ready tasks wait
 * for a slot in a priority queue (longest remaining critical path first, ties by id) whose
 * concurrency is the start limit; a task that cannot get the lease on its files gives its
 * slot back and waits (`waiting`) until a lease is released or the poll finds it free.
 * Finished tasks go through the merge queue; conflicts come back here for resolution.
 *
 * Invariants: a slot is held only while an agent, a setup or a check of a task runs (or a
 * conflict resolution, which goes ahead of new tasks); the start limit is the configured cap,
 * halved once per burst of `api_retry` events and raised step by step after quiet (see
 * rate-limit.ts); the run is done when nothing is in flight, nothing is queued or merging,
 * and only tasks waiting on a lease held outside the run remain (unless it is stopping).
 */
export class Scheduler {
  readonly #ctx: RunContext;
  readonly #slots: PQueue;
  readonly #merges: MergeQueue;
  readonly #limiter: RateLimiter;
  /** The account's usage limit: waits for its reset, or stops the run (usage-limit.ts). */
  readonly #usage: UsageLimit;
  /** Tasks whose files are leased by someone else; tried again when a lease is released, and at every tick. */
  readonly #waiting = new Set<string>();
  readonly #priority = new Map<string, number>();
  readonly #runs = new Map<string, TaskRun>();
  #inflight = 0;
  #finish?: () => void;
  #timer?: NodeJS.Timeout;

  constructor(ctx: RunContext) {
    this.#ctx = ctx;
    const { o } = ctx;
    this.#slots = new PQueue({ concurrency: o.concurrency });
    this.#limiter = new RateLimiter(o.concurrency, o.rateLimitRecoveryMs ?? 60_000);
    this.#usage = new UsageLimit(ctx.spec.limits?.maxWaitMs ?? 0, o.clock, {
      emit: (news) => ctx.emit({ type: 'usage', ...news, run: ctx.name, at: ctx.now() }),
      stop: (message) => {
        ctx.stopReason ??= `stopped: ${message}`;
        this.stop(false);
      },
    });
    this.#merges = new MergeQueue(ctx, (id, result) => this.#settleMerge(id, result));
    // Priority: longest remaining path first; among equals, the smaller id first.
    // FIFO: every task the same, so p-queue keeps the order in which they became ready.
    const ids = [...o.graph.ids].sort();
    const fifo = o.priority === 'fifo';
    for (const [rank, id] of ids.entries()) this.#priority.set(id, fifo ? 0 : o.graph.remaining(id) * (ids.length + 1) + (ids.length - rank));
    ctx.onLeaseReleased = () => this.#retryWaiting();
  }

  /** Runs until every selected task has settled (or the run stopped); merges and cleanups included. */
  async run(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#timer = setInterval(() => this.#tick(), Math.min(this.#ctx.o.leasePollMs ?? 1000, 1000));
    this.#pump();
    this.#checkDone();
    await done;
    clearInterval(this.#timer);
    await this.#merges.idle();
  }

  /** Set when the run stopped on the account's usage limit: when to run again. */
  get usageLimitStop(): string | undefined {
    return this.#usage.stopMessage;
  }

  /** Graceful first (no new starts, agents stopped, queued merges finish); `force` also abandons merges. */
  stop(force: boolean): void {
    const ctx = this.#ctx;
    if (ctx.forced || (ctx.stopping && !force)) return;
    ctx.stopping = true;
    ctx.forced ||= force;
    ctx.emit({ type: 'run', reason: 'stopping', force, run: ctx.name, at: ctx.now() });
    // Queued jobs see `stopping` when their turn comes and return at once (clearing the queue would orphan their promises).
    for (const live of ctx.live.values()) live.controller?.abort();
    this.#usage.cancel();
    if (force) this.#merges.forceStop();
    this.#checkDone();
  }

  /**
   * `swarm stop TASK`: stops one task's agent (its process group, as a stop of the run does),
   * or keeps a task that has not started from starting. It ends `cancelled`, resumable; the
   * rest of the run goes on. Returns what happens, or why not.
   */
  stopTask(id: string): Result<string, string> {
    const ctx = this.#ctx;
    const live = ctx.live.get(id);
    if (live === undefined || !ctx.selected.has(id)) return err(`no task ${id} in this run`);
    if (this.#finish === undefined) return err('the run is ending');
    if (TERMINAL_STATES.has(live.state)) return err(`task ${id} has already ended (${live.state})`);
    if (live.state === 'queued' || live.state === 'merging') return err(`task ${id} is ${live.state} for its merge: too late to stop it`);
    live.stopRequested = true;
    if (ACTIVE_STATES.has(live.state)) {
      live.controller?.abort();
      return ok(`task ${id} (${live.state}): its agent is being stopped; it stays resumable`);
    }
    const was = live.state;
    this.#waiting.delete(id);
    ctx.transition(id, 'cancelled', { endedAt: ctx.now() }, 'stopped by swarm stop');
    this.#checkDone();
    return ok(`task ${id} (${was}) will not start; it stays resumable`);
  }

  /** `swarm retry TASK`: a failed, conflicted or stopped task runs again in this run, and what its failure blocked waits for it again. */
  retryTask(id: string): Result<string, string> {
    const ctx = this.#ctx;
    const live = ctx.live.get(id);
    if (live === undefined || !ctx.selected.has(id)) return err(`no task ${id} in this run`);
    if (this.#finish === undefined || ctx.stopping) return err('the run is ending');
    if (!RETRYABLE.has(live.state)) {
      const hint = live.state === 'blocked' ? ' (retry the failed task it depends on)' : '';
      return err(`task ${id} is ${live.state}; only a failed, conflicted or stopped task can be retried${hint}`);
    }
    Object.assign(live, { tries: 0, conflictRounds: 0, stopRequested: false, leaseLost: false, mergeReady: false });
    ctx.transition(id, 'ready', { readyAt: ctx.now() }, 'retried (swarm retry)');
    for (const d of ctx.o.graph.descendants(id)) {
      if (ctx.state(d) === 'blocked') ctx.transition(d, 'pending', {}, `waiting again: ${id} was retried`);
    }
    this.#start(id);
    this.#pump();
    return ok(`task ${id} runs again (attempt ${live.attempt + 1})`);
  }

  /** Moves pending tasks on: ready when their dependencies merged, blocked when one failed. */
  #pump(): void {
    const ctx = this.#ctx;
    if (ctx.stopping) return;
    const { graph } = ctx.o;
    // With --shard: another shard's task that depends on a failed one will not merge either.
    ctx.shard?.blockForeign();
    const newlyReady: string[] = [];
    for (const id of graph.ids) {
      if (!ctx.selected.has(id) || ctx.state(id) !== 'pending') continue;
      const deps = graph.dependencies(id);
      const failedDep = deps.find((d) => FAILED_STATES.has(ctx.state(d)));
      if (failedDep !== undefined) {
        ctx.transition(id, 'blocked', {}, `blocked: dependency ${failedDep} ${ctx.state(failedDep)}`);
        continue;
      }
      if (deps.every((d) => ctx.state(d) === 'merged')) newlyReady.push(id);
    }
    // p-queue starts a job at once when a slot is free, so enqueue the most urgent first.
    newlyReady.sort((a, b) => this.#prio(b) - this.#prio(a));
    for (const id of newlyReady) {
      ctx.transition(id, 'ready', { readyAt: ctx.now() });
      this.#start(id);
    }
  }

  #start(id: string): void {
    if (this.#ctx.stopping || this.#ctx.budgetHit) return;
    // While the run waits for a usage limit to reset, a free slot starts nothing.
    this.#inSlot(id, this.#prio(id), async (run) => {
      await this.#usage.wait();
      return run.start();
    });
  }

  /** Runs one piece of a task's life in a slot, and settles how it ended. */
  #inSlot(id: string, priority: number, work: (run: TaskRun) => Promise<TaskOutcome>): void {
    this.#inflight++;
    void this.#slots
      .add(() => this.#guard(id, async () => this.#settleTask(id, await work(this.#taskRun(id)))), { priority })
      .finally(() => {
        this.#inflight--;
        this.#checkDone();
      });
  }

  #taskRun(id: string): TaskRun {
    let run = this.#runs.get(id);
    if (!run) {
      run = new TaskRun(this.#ctx, id, {
        onApiRetry: () => {
          const lowered = this.#limiter.onRetry(this.#ctx.now());
          if (lowered !== undefined) this.#setLimit(lowered, 'lowered');
        },
        onAuthRefused: (task, why) => this.#stopForAuth(task, why),
        onUsageLimit: (task, resetsAt) => this.#usage.hit(task, resetsAt),
      });
      this.#runs.set(id, run);
    }
    return run;
  }

  #settleTask(id: string, outcome: TaskOutcome): void {
    const ctx = this.#ctx;
    if (outcome.kind !== 'waiting') this.#waiting.delete(id);
    switch (outcome.kind) {
      case 'skipped':
        return;
      case 'waiting':
        this.#waiting.add(id);
        return;
      case 'queued':
        ctx.transition(id, 'queued', {}, outcome.detail);
        this.#merges.enqueue(
          id,
          this.#prio(id),
          (work) => this.#guard(id, work),
          () => this.#checkDone(),
        );
        return;
      case 'failed':
      case 'conflicted':
        return this.#end(id, outcome.kind, outcome.detail);
      case 'cancelled':
        return this.#cancel(id);
    }
  }

  #settleMerge(id: string, result: MergeResult): void {
    switch (result.kind) {
      case 'merged':
        return this.#pump();
      case 'conflict':
        return this.#conflict(id, result.files);
      case 'failed':
        return this.#end(id, 'failed', result.detail);
      case 'cancelled':
        return this.#cancel(id);
      case 'moved':
        return this.#foreignMove(id, result.expected, result.actual);
    }
  }

  #conflict(id: string, files: readonly string[]): void {
    const ctx = this.#ctx;
    const live = ctx.live.get(id)!;
    ctx.emit({ type: 'merge', reason: 'conflict', task: id, files, run: ctx.name, at: ctx.now() });
    if (ctx.spec.merge.onConflict === 'fail' || live.conflictRounds >= MAX_CONFLICT_ROUNDS || ctx.stopping) {
      return this.#end(id, 'conflicted', `merge conflict in ${files.join(', ')}`);
    }
    live.conflictRounds++;
    ctx.transition(id, 'resolving', {}, `resolving a conflict in ${files.join(', ')}`);
    // The resolution is agent work: it takes a slot like any agent, ahead of new tasks.
    this.#inSlot(id, Number.MAX_SAFE_INTEGER, (run) => run.resolve());
  }

  /** Leases held by others free up without telling us: look again now and then. Also recovers the rate limit. */
  #tick(): void {
    const raised = this.#limiter.tick(this.#ctx.now());
    if (raised !== undefined) this.#setLimit(raised, 'raised');
    this.#retryWaiting();
    this.#lookAtShards();
  }

  /**
   * With --shard: tasks waiting on another shard's task get it when the remote shows it
   * merged (the look runs in the merge queue, where the branch may move); with nothing else
   * to do here and nothing moving there for `limits.shard_wait`, they stop waiting, blocked.
   */
  #lookAtShards(): void {
    const ctx = this.#ctx;
    const link = ctx.shard;
    if (!link || ctx.stopping || this.#finish === undefined) return;
    const idle = this.#inflight === 0 && !this.#merges.busy && this.#waiting.size === 0;
    const expired = link.tick(
      idle,
      (work) => this.#merges.exclusive(work, () => this.#checkDone()),
      () => this.#pump(),
    );
    for (const id of expired) ctx.transition(id, 'blocked', {}, link.expiredDetail(id));
    if (expired.length > 0) {
      this.#pump();
      this.#checkDone();
    }
  }

  #retryWaiting(): void {
    if (this.#waiting.size === 0 || this.#ctx.stopping) return;
    const ids = [...this.#waiting].sort((a, b) => this.#prio(b) - this.#prio(a));
    this.#waiting.clear();
    for (const id of ids) this.#start(id);
  }

  #setLimit(limit: number, reason: 'lowered' | 'raised'): void {
    const ctx = this.#ctx;
    this.#slots.concurrency = limit;
    ctx.emit({ type: 'limit', reason, concurrency: limit, max: this.#limiter.max, run: ctx.name, at: ctx.now() });
  }

  #checkDone(): void {
    const ctx = this.#ctx;
    if (!this.#finish) return;
    if (this.#inflight > 0 || this.#merges.busy) return;
    for (const id of ctx.selected) {
      const s = ctx.state(id);
      if (ACTIVE_STATES.has(s) || s === 'queued' || s === 'merging') return;
    }
    // Tasks waiting for a lease held outside this run can still go on; anything else left is stuck or stopped.
    if (this.#waiting.size > 0 && !ctx.stopping && !ctx.budgetHit) return;
    // So can tasks waiting for another shard's task to reach the remote (or their wait to run out).
    if (ctx.shard && ctx.shard.waiters().length > 0 && !ctx.stopping && !ctx.budgetHit) return;
    const finish = this.#finish;
    this.#finish = undefined;
    finish();
  }

  /** Turns an unexpected exception into the task's failure, once, here at the boundary. */
  async #guard(id: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const ctx = this.#ctx;
      const live = ctx.live.get(id)!;
      ctx.releaseLease(id);
      const to: TaskState = live.controller?.signal.aborted ? 'cancelled' : 'failed';
      if (canTransition(live.state, to)) {
        ctx.transition(id, to, { endedAt: ctx.now() }, `internal error: ${messageOf(error)}`);
        if (to === 'failed') this.#pump();
      } else if (!TERMINAL_STATES.has(live.state)) {
        // Before it started (its lease could not even be asked for): it stays where it was, for the next run.
        ctx.log('warning', `task ${id}: internal error while ${live.state}: ${messageOf(error)}`);
      }
    }
  }

  #end(id: string, to: 'failed' | 'conflicted', detail: string): void {
    const ctx = this.#ctx;
    ctx.transition(id, to, { endedAt: ctx.now() }, detail);
    ctx.releaseLease(id);
    this.#pump();
  }

  #cancel(id: string): void {
    const ctx = this.#ctx;
    const live = ctx.live.get(id)!;
    if (live.leaseLost && !TERMINAL_STATES.has(live.state)) {
      // Another holder may have its files now, so its work does not merge. A failure, not
      // retried in this run (a retry would work on files someone else may hold); `swarm run` again retries it.
      const globs = live.lease?.globs.join(', ') ?? '';
      const detail = `its lease on ${globs} was lost while it worked (the lease row was deleted, expired or taken over by another holder); its work stays on ${live.branch ?? 'its branch'} and is not merged`;
      ctx.log('warning', `task ${id}: ${detail}`);
      return this.#end(id, 'failed', detail);
    }
    const why = live.stopRequested ? 'stopped by swarm stop' : (ctx.stopReason ?? 'stopped by the user');
    if (!TERMINAL_STATES.has(live.state)) ctx.transition(id, 'cancelled', { endedAt: ctx.now() }, why);
    ctx.releaseLease(id);
  }

  /**
   * A refused login (a 401, no login) fails every agent on it alike, and with a shared OAuth
   * login one agent's token refresh can revoke the others'. Retrying or starting more tasks
   * only repeats it: the run stops as if the user had (resumable), and says once what to do.
   */
  #stopForAuth(id: string, why: string | undefined): void {
    const ctx = this.#ctx;
    if (ctx.stopReason !== undefined) return;
    ctx.stopReason = `stopped: claude could not authenticate (${why ?? 'authentication failed'})`;
    ctx.log(
      'warning',
      `task ${id}: claude could not authenticate (${why ?? 'authentication failed'}). The run stopped: no task is retried or started, and \`swarm run\` resumes it. ` +
        'Log in again (run `claude`, then /login), or set ANTHROPIC_API_KEY; for many agents at once, run `claude setup-token` and set CLAUDE_CODE_OAUTH_TOKEN (with agent.isolate_config: true).',
    );
    this.stop(false);
  }

  /** The integration branch is not where swarm left it: nothing more is merged, and the run stops. */
  #foreignMove(id: string, expected: string, actual: string): void {
    const ctx = this.#ctx;
    void describeForeignMove(ctx, expected, actual).then((message) => ctx.stopOnFatal(message));
    ctx.transition(id, 'cancelled', { endedAt: ctx.now() }, `not merged: the integration branch ${ctx.spec.into} was moved outside swarm`);
    ctx.releaseLease(id);
  }

  #prio(id: string): number {
    return this.#priority.get(id) ?? 0;
  }
}
