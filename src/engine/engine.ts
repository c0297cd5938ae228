import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { RESUMABLE_KINDS, type Spec, type TaskSpec } from '../config/spec.js';
import { processAlive, processStart } from '../util/process-identity.js';
import { err, ok, type Result } from '../util/result.js';
import type { EventListener, SwarmEvent, TaskInfo } from './events.js';
import type {
  AgentOutput,
  AgentResult,
  AttemptFindings,
  Clock,
  Enforcement,
  GitPort,
  GraphView,
  Lease,
  RunRecord,
  RunStore,
  ShellPort,
  TaskPatch,
  TaskRecord,
} from './ports.js';
import type { AgentRunner } from './ports.js';
import { buildFollowUp, buildPrompt, type DependencyResult, type RetryContext } from './prompt.js';
import { RateLimiter } from './rate-limit.js';
import { INTERRUPTED_STATES, interruptedFollowUp, MERGE_READY_STATES, planResume, taskHash } from './resume.js';
import { ACTIVE_STATES, canTransition, FAILED_STATES, TERMINAL_STATES, type TaskState } from './task-state.js';

export type RunOutcome = 'success' | 'failed' | 'cancelled' | 'budget';

export interface EngineOptions {
  readonly spec: Spec;
  readonly graph: GraphView;
  readonly store: RunStore;
  readonly git: GitPort;
  readonly shell: ShellPort;
  readonly agents: ReadonlyMap<string, AgentRunner>;
  readonly clock: Clock;
  /** Most agents at once; the `--concurrency` flag or the file's `concurrency`. */
  readonly concurrency: number;
  /** `.swarm/logs/<name>`: transcripts, prompts, check output. */
  readonly logsDir: string;
  /** The environment agents and checks inherit. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The hook and pre-commit wiring; undefined runs without enforcement (lease.enforce: off). */
  readonly enforcement?: Enforcement;
  /** Only these tasks run (`--only`, with their dependencies). @default all */
  readonly selected?: ReadonlySet<string>;
  readonly keepWorktrees?: boolean;
  /**
   * Which ready task takes a free slot first: the one with the longest remaining critical
   * path (durations learnt or estimated), or plain first-come order (`fifo`, for comparing;
   * the hidden `SWARM_PRIORITY=fifo`).
   * @default 'critical-path'
   */
  readonly priority?: 'critical-path' | 'fifo';
  /** How long without an api_retry before the start limit climbs one step. @default 60s */
  readonly rateLimitRecoveryMs?: number;
  /** How often to look again at leases held by others while a task waits for one. @default 1s */
  readonly leasePollMs?: number;
  readonly pid?: number;
  /** When the runner process started (processStart); by default looked up for this process. */
  readonly pidStart?: string;
  readonly host?: string;
  /**
   * Stops the agent processes a crashed runner (this pid, on this host) left behind, before
   * their worktrees are touched; returns how many it stopped. Given by the composition root,
   * which knows how agents are spawned.
   */
  readonly reapOrphans?: (runnerPid: number) => Promise<number>;
}

export interface RunSummary {
  readonly outcome: RunOutcome;
  readonly merged: number;
  readonly total: number;
  readonly costUsd: number;
}

/** Per-task facts the engine keeps while it runs; the store has the durable copy. */
interface Live {
  state: TaskState;
  attempt: number;
  /** Attempts made in this invocation (retries count against the task's `retries`). */
  tries: number;
  lease?: Lease;
  worktree?: string;
  branch?: string;
  startSha?: string;
  /** The diff base for the audit; moves to the integration head after a conflict merge. */
  auditBase?: string;
  sessionId?: string;
  summary?: string;
  controller?: AbortController;
  conflictRounds: number;
  agentStartedAt?: number;
  agentMs: number;
  /** Totals over every attempt, kept here so no agent's end has to read the store back. */
  costUsd: number;
  turns: number;
  /** Resumed after passing its check: to the merge queue without running the agent again. */
  mergeReady?: boolean;
  /** Its agent was cut off by a crash: the next attempt resumes the claude session, if any. */
  interrupted?: boolean;
}

const MAX_CONFLICT_ROUNDS = 2;

/**
 * The scheduler. A task is ready when every dependency is merged; ready tasks wait in a
 * priority queue (longest remaining critical path first, ties by id) whose concurrency is
 * the cap; a task starts only when it gets the lease on its files. Finished tasks go
 * through a single merge queue. Knows nothing of terminals, SQLite or execa.
 */
export class Engine {
  readonly #o: EngineOptions;
  readonly #spec: Spec;
  readonly #tasks: ReadonlyMap<string, TaskSpec>;
  readonly #live = new Map<string, Live>();
  readonly #listeners: EventListener[] = [];
  readonly #queue: PQueue;
  readonly #mergeQueue = new PQueue({ concurrency: 1 });
  readonly #limiter: RateLimiter;
  readonly #waiting = new Set<string>();
  readonly #priority = new Map<string, number>();
  readonly #selected: ReadonlySet<string>;
  readonly #env: Record<string, string>;
  readonly #pid: number;
  readonly #pidStart: string | undefined;
  readonly #host: string;
  #stopping = false;
  #forced = false;
  #budgetHit = false;
  #costUsd = 0;
  #startedAt = 0;
  #into = '';
  #timers: NodeJS.Timeout[] = [];
  #inflight = 0;
  /** Worktree removals (or parkings) still going on after their merge. */
  readonly #cleanups = new Set<Promise<void>>();
  #finish?: () => void;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#spec = options.spec;
    this.#tasks = new Map(options.spec.tasks.map((t) => [t.id, t]));
    this.#selected = options.selected ?? new Set(this.#tasks.keys());
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#limiter = new RateLimiter(options.concurrency, options.rateLimitRecoveryMs ?? 60_000);
    this.#pid = options.pid ?? process.pid;
    this.#pidStart = options.pidStart ?? (options.pid === undefined ? processStart(process.pid) : undefined);
    this.#host = options.host ?? 'localhost';
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.env ?? process.env)) if (v !== undefined) env[k] = v;
    this.#env = env;
    // Priority: longest remaining path first; among equals, the smaller id first.
    const ids = [...options.graph.ids].sort();
    // FIFO: every task the same, so p-queue keeps the order in which they became ready.
    const fifo = options.priority === 'fifo';
    ids.forEach((id, rank) => this.#priority.set(id, fifo ? 0 : options.graph.remaining(id) * (ids.length + 1) + (ids.length - rank)));
  }

  on(listener: EventListener): void {
    this.#listeners.push(listener);
  }

  /** This runner's start time, for records that name its pid. */
  #runner(): { pidStart?: string } {
    return this.#pidStart === undefined ? {} : { pidStart: this.#pidStart };
  }

  /** Graceful first (no new starts, agents stopped, queued merges finish); `force` also abandons merges. */
  stop(force: boolean): void {
    if (this.#forced || (this.#stopping && !force)) return;
    this.#stopping = true;
    this.#forced ||= force;
    this.#emit({ type: 'run', reason: 'stopping', force, run: this.#spec.name, at: this.#now() });
    // Queued jobs see #stopping when their turn comes and return at once (clearing the queue would orphan their promises).
    for (const live of this.#live.values()) live.controller?.abort();
    this.#checkDone();
  }

  /** Runs (or resumes) the graph. An error value means bad input (exit 2); task failures are in the summary. */
  async run(): Promise<Result<RunSummary, string>> {
    const spec = this.#spec;
    const { store, git } = this.#o;
    this.#startedAt = this.#now();
    this.#into = spec.into;

    const previous = store.getRun(spec.name);
    if (previous?.status === 'running' && previous.pid !== this.#pid && previous.host === this.#host && processAlive(previous.pid, previous.pidStart)) {
      return err(`the run "${spec.name}" is already running (pid ${previous.pid}); wait for it or stop it first`);
    }
    let baseSha: string;
    try {
      baseSha = previous?.baseSha ?? (await git.resolve(spec.base));
      await git.ensureIntegrationBranch(spec.into, baseSha, spec.name);
    } catch (error) {
      return err(messageOf(error));
    }

    const hashes = new Map(spec.tasks.map((t) => [t.id, taskHash(spec, t)]));
    const prevTasks = new Map<string, TaskRecord>(previous ? store.getTasks(spec.name).map((r) => [r.task, r]) : []);
    const crashed = previous?.status === 'running';
    if (previous) await this.#recover(previous, crashed, prevTasks);
    if (crashed) await this.#undoUncheckedMerges(prevTasks);
    const inIntegration = new Set<string>();
    for (const [id, rec] of prevTasks) {
      if (await this.#workIsIn(rec, spec.into)) inIntegration.add(id);
    }
    const plan = planResume(this.#o.graph, hashes, prevTasks, inIntegration);
    for (const id of plan.changed) this.#log('info', `task ${id} changed since it ran: it runs again, with everything downstream of it`);
    for (const id of plan.lostMerges) this.#log('warning', `task ${id} was merged before but its work is not on ${spec.into}: it runs again`);
    for (const id of plan.recoveredMerges) {
      const was = prevTasks.get(id)!.state;
      const unchecked = was === 'merging' && spec.merge.check ? ` (its merge.check \`${spec.merge.check}\` was cut off and is not run again: run it yourself on ${spec.into})` : '';
      this.#log(crashed && unchecked ? 'warning' : 'info', `task ${id} was merged into ${spec.into} just before the runner stopped: recorded merged, not merged again${unchecked}`);
    }
    for (const id of plan.recoveredMerges) {
      const wt = prevTasks.get(id)!.worktree;
      if (wt && !this.#o.keepWorktrees) await git.removeWorktree(wt).catch((e: unknown) => this.#log('warning', `task ${id}: worktree kept: ${messageOf(e)}`));
    }
    // Straight to the merge queue only with the branch that passed the check; if it is gone (cleaned), the agent runs again.
    const mergeReady = new Set<string>();
    for (const id of plan.mergeReady) {
      const branch = prevTasks.get(id)?.branch;
      if (branch && (await git.resolve(`refs/heads/${branch}`).then(() => true, () => false))) mergeReady.add(id);
    }
    for (const id of mergeReady) this.#log('info', `task ${id} had passed its check before the runner stopped: it goes straight to the merge queue`);
    // A merged task that runs again starts over from the integration head, on a fresh branch.
    for (const id of [...plan.changed, ...plan.downstreamOfChange]) {
      const rec = prevTasks.get(id);
      if (rec?.state === 'merged' && rec.branch && inIntegration.has(id)) await git.deleteBranch(rec.branch).catch(() => undefined);
    }

    for (const t of spec.tasks) {
      const rec = prevTasks.get(t.id);
      this.#live.set(t.id, {
        state: plan.keepMerged.has(t.id) ? 'merged' : 'pending',
        attempt: rec?.attempts ?? 0,
        tries: 0,
        sessionId: rec?.sessionId,
        conflictRounds: 0,
        agentMs: 0,
        costUsd: rec?.costUsd ?? 0,
        turns: rec?.turns ?? 0,
        mergeReady: mergeReady.has(t.id),
        interrupted: crashed && plan.interrupted.has(t.id),
      });
    }
    const wanted = [...this.#selected];
    if (previous && wanted.every((id) => plan.keepMerged.has(id))) return this.#nothingToDo(previous, baseSha, plan.recoveredMerges);
    this.#costUsd = previous?.costUsd ?? 0;
    store.saveRun(
      {
        name: spec.name,
        file: spec.file,
        into: spec.into,
        baseSha,
        status: 'running',
        pid: this.#pid,
        ...this.#runner(),
        host: this.#host,
        startedAt: this.#startedAt,
        costUsd: this.#costUsd,
      },
      spec.tasks.map((t) => ({ task: t.id, hash: hashes.get(t.id)!, state: this.#live.get(t.id)!.state })),
    );
    this.#emitStarted(baseSha, previous !== undefined);
    if (previous && plan.keepMerged.size > 0) {
      this.#log('info', `resuming: ${plan.keepMerged.size} task(s) already merged stay merged`);
    }

    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#timers.push(setInterval(() => this.#tick(), Math.min(this.#o.leasePollMs ?? 1000, 1000)));
    this.#pump();
    this.#checkDone();
    await done;
    for (const t of this.#timers) clearInterval(t);
    await this.#mergeQueue.onIdle();
    await Promise.all(this.#cleanups);

    const selected = [...this.#selected];
    const merged = selected.filter((id) => this.#state(id) === 'merged').length;
    const anyFailed = selected.some((id) => FAILED_STATES.has(this.#state(id)));
    const outcome: RunOutcome =
      merged === selected.length ? 'success' : this.#stopping ? 'cancelled' : anyFailed ? 'failed' : this.#budgetHit ? 'budget' : 'failed';
    const finishedAt = this.#now();
    store.setRunStatus(spec.name, outcome === 'success' ? 'finished' : outcome === 'failed' ? 'failed' : 'cancelled', {
      finishedAt,
      costUsd: this.#costUsd,
    });
    this.#emit({
      type: 'run',
      reason: 'finished',
      run: spec.name,
      at: finishedAt,
      outcome,
      merged,
      total: selected.length,
      costUsd: this.#costUsd,
      durationMs: finishedAt - this.#startedAt,
    });
    return ok({ outcome, merged, total: selected.length, costUsd: this.#costUsd });
  }

  // ------------------------------------------------------------------ resuming

  /**
   * Puts right what an earlier runner of this run left: its leases, and when it crashed
   * (status still `running`, pid gone), its orphaned agents, its open attempts, and the
   * work its agents had not committed yet, which goes onto each task's branch before
   * anything else happens to the worktree.
   */
  async #recover(previous: RunRecord, crashed: boolean, prevTasks: ReadonlyMap<string, TaskRecord>): Promise<void> {
    const { store, git } = this.#o;
    const name = this.#spec.name;
    const freed = store.releaseRunLeases?.(name) ?? 0;
    if (!crashed) return;
    this.#log('warning', `the run ${name} was interrupted (its runner, pid ${previous.pid} on ${previous.host}, is gone): recovering it`);
    if (freed > 0) this.#log('info', `released ${freed} lease${freed === 1 ? '' : 's'} the interrupted runner held`);
    if (previous.host === this.#host && this.#o.reapOrphans) {
      const stopped = await this.#o.reapOrphans(previous.pid).catch(() => 0);
      if (stopped > 0) this.#log('info', `stopped ${stopped} agent process${stopped === 1 ? '' : 'es'} the interrupted runner left behind`);
    }
    store.interruptOpenAttempts?.(name, this.#now());
    // A merged task's worktree the runner had not removed yet, or had parked for reuse (a
    // pool lives in memory and died with it): clean ones go, as after any merge.
    if (!this.#o.keepWorktrees) {
      for (const rec of prevTasks.values()) {
        if (rec.state !== 'merged' || !rec.worktree || !existsSync(rec.worktree)) continue;
        await git.removeWorktree(rec.worktree).catch((e: unknown) => this.#log('warning', `task ${rec.task}: worktree kept: ${messageOf(e)}`));
      }
    }
    for (const rec of [...prevTasks.values()].sort((a, b) => a.task.localeCompare(b.task))) {
      if (!INTERRUPTED_STATES.has(rec.state) || !rec.worktree || !existsSync(rec.worktree)) continue;
      try {
        const sha = await git.commitAll(rec.worktree, `swarm(${rec.task}): work left by an interrupted attempt`, { noVerify: true });
        if (sha) this.#log('info', `task ${rec.task}: committed what its interrupted agent left (${sha.slice(0, 10)}) on ${rec.branch ?? 'its branch'}`);
      } catch (error) {
        this.#log('warning', `task ${rec.task}: could not commit what its interrupted agent left in ${rec.worktree}; the worktree is kept as it is: ${messageOf(error)}`);
      }
    }
  }

  /**
   * Whether a task's work is on the integration branch. For a merged task, its recorded
   * merge commit (its branch may have been cleaned since) or its branch. For one the store
   * still has queued or merging, only a branch with commits of its own counts: an empty
   * branch is trivially an ancestor.
   */
  /**
   * A merge whose merge.check the crash cut off never passed its check, and the branch it
   * landed on is the one dependents start from. While the integration branch is still at
   * that merge, it moves back to where it was; the task (its branch untouched) goes
   * through the merge queue again, check included. If the branch moved on since, the
   * merge stays, with a warning (see the recovered-merge message).
   */
  async #undoUncheckedMerges(prevTasks: Map<string, TaskRecord>): Promise<void> {
    const spec = this.#spec;
    const git = this.#o.git;
    if (!spec.merge.check || !git.moveIntegrationBranch) return;
    for (const [id, rec] of prevTasks) {
      if (rec.state !== 'merging' || rec.mergeBase === undefined || rec.mergedSha === undefined) continue;
      const undone = await git.moveIntegrationBranch(spec.into, rec.mergeBase, rec.mergedSha).catch(() => false);
      if (!undone) continue;
      this.#o.store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
      prevTasks.set(id, { ...rec, mergeBase: undefined, mergedSha: undefined });
      this.#log(
        'warning',
        `task ${id}: the runner stopped while merge.check \`${spec.merge.check}\` ran on its merge; the merge is undone (${spec.into} is back at ${rec.mergeBase.slice(0, 12)}) and the task is merged again, check included`,
      );
    }
  }

  async #workIsIn(rec: TaskRecord, into: string): Promise<boolean> {
    const git = this.#o.git;
    try {
      if (rec.state === 'merged') {
        if (rec.mergedSha && git.isAncestor && (await git.isAncestor(rec.mergedSha, into))) return true;
        return rec.branch !== undefined && (await git.isMerged(rec.branch, into));
      }
      if (!MERGE_READY_STATES.has(rec.state) || !rec.branch || !rec.startSha) return false;
      const tip = await git.resolve(`refs/heads/${rec.branch}`).catch(() => undefined);
      if (tip === undefined || tip === rec.startSha) return false;
      return await git.isMerged(rec.branch, into);
    } catch {
      return false;
    }
  }

  /** The run's first event: every task with the state it starts (or resumes) in. */
  #emitStarted(baseSha: string, resumed: boolean): void {
    const spec = this.#spec;
    const tasks: TaskInfo[] = spec.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      dependsOn: t.dependsOn,
      files: t.files,
      state: this.#live.get(t.id)!.state,
    }));
    this.#emit({
      type: 'run',
      reason: 'started',
      run: spec.name,
      at: this.#now(),
      into: spec.into,
      base: baseSha,
      concurrency: this.#o.concurrency,
      resumed,
      tasks,
    });
  }

  /** Every selected task is merged already: say so, and change nothing. */
  #nothingToDo(previous: RunRecord, baseSha: string, recovered: readonly string[]): Result<RunSummary, string> {
    const spec = this.#spec;
    const total = this.#selected.size;
    if (previous.status !== 'finished' || recovered.length > 0) {
      this.#o.store.saveRun(
        { ...withoutRunner(previous), status: 'finished', pid: this.#pid, ...this.#runner(), host: this.#host, finishedAt: this.#now() },
        spec.tasks.map((t) => ({ task: t.id, hash: taskHash(spec, t), state: this.#live.get(t.id)!.state })),
      );
    }
    this.#emitStarted(baseSha, true);
    this.#log('info', `nothing to do: all ${total} task${total === 1 ? '' : 's'} merged on ${spec.into}`);
    const costUsd = previous.costUsd;
    this.#emit({ type: 'run', reason: 'finished', run: spec.name, at: this.#now(), outcome: 'success', merged: total, total, costUsd, durationMs: 0 });
    return ok({ outcome: 'success', merged: total, total, costUsd });
  }

  // ------------------------------------------------------------------ scheduling

  /** Moves pending tasks on: ready when their dependencies merged, blocked when one failed. */
  #pump(): void {
    if (this.#stopping) return;
    const { graph } = this.#o;
    const newlyReady: string[] = [];
    for (const id of graph.ids) {
      if (!this.#selected.has(id) || this.#state(id) !== 'pending') continue;
      const deps = graph.dependencies(id);
      const failedDep = deps.find((d) => FAILED_STATES.has(this.#state(d)));
      if (failedDep !== undefined) {
        this.#transition(id, 'blocked', {}, `blocked: dependency ${failedDep} ${this.#state(failedDep)}`);
        continue;
      }
      if (deps.every((d) => this.#state(d) === 'merged')) newlyReady.push(id);
    }
    // p-queue starts a job at once when a slot is free, so enqueue the most urgent first.
    newlyReady.sort((a, b) => (this.#priority.get(b) ?? 0) - (this.#priority.get(a) ?? 0));
    for (const id of newlyReady) {
      this.#transition(id, 'ready', { readyAt: this.#now() });
      this.#enqueue(id);
    }
  }

  #enqueue(id: string): void {
    if (this.#stopping || this.#budgetHit) return;
    this.#inflight++;
    void this.#queue
      .add(() => this.#guard(id, () => this.#runTask(id)), { priority: this.#priority.get(id) ?? 0 })
      .finally(() => {
        this.#inflight--;
        this.#checkDone();
      });
  }

  /** Leases held by others free up without telling us: look again now and then. Also recovers the rate limit. */
  #tick(): void {
    const raised = this.#limiter.tick(this.#now());
    if (raised !== undefined) this.#setLimit(raised, 'raised');
    this.#retryWaiting();
  }

  #retryWaiting(): void {
    if (this.#waiting.size === 0 || this.#stopping) return;
    const ids = [...this.#waiting].sort((a, b) => (this.#priority.get(b) ?? 0) - (this.#priority.get(a) ?? 0));
    this.#waiting.clear();
    for (const id of ids) this.#enqueue(id);
  }

  #setLimit(limit: number, reason: 'lowered' | 'raised'): void {
    this.#queue.concurrency = limit;
    this.#emit({ type: 'limit', reason, concurrency: limit, max: this.#limiter.max, run: this.#spec.name, at: this.#now() });
  }

  #checkDone(): void {
    if (!this.#finish) return;
    if (this.#inflight > 0 || this.#mergeQueue.size > 0 || this.#mergeQueue.pending > 0) return;
    for (const id of this.#selected) {
      const s = this.#state(id);
      if (ACTIVE_STATES.has(s) || s === 'queued' || s === 'merging') return;
    }
    // Tasks waiting for a lease held outside this run can still go on; anything else left is stuck or stopped.
    if (this.#waiting.size > 0 && !this.#stopping && !this.#budgetHit) return;
    const finish = this.#finish;
    this.#finish = undefined;
    finish();
  }

  // ------------------------------------------------------------------ one task

  /** Turns an unexpected exception into the task's failure, once, here at the boundary. */
  async #guard(id: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const live = this.#live.get(id)!;
      this.#releaseLease(id);
      if (!TERMINAL_STATES.has(live.state)) {
        const to: TaskState = live.controller?.signal.aborted ? 'cancelled' : 'failed';
        this.#transition(id, to, { endedAt: this.#now() }, `internal error: ${messageOf(error)}`);
        if (to === 'failed') this.#pump();
      }
    }
  }

  async #runTask(id: string): Promise<void> {
    const task = this.#tasks.get(id)!;
    const live = this.#live.get(id)!;
    const spec = this.#spec;
    // Re-check after the wait for a slot: the run may be stopping or out of budget.
    if (this.#stopping || this.#budgetHit) return;

    const acquired = this.#o.store.acquire({
      holder: `${spec.name}/${id}`,
      run: spec.name,
      task: id,
      globs: task.files,
      pid: this.#pid,
      ...this.#runner(),
      host: this.#host,
      ttlMs: spec.lease.ttlMs,
      reason: task.title,
    });
    if (!acquired.ok) {
      const detail = `waiting for lease held by ${acquired.heldBy.holder}`;
      if (live.state !== 'waiting') this.#transition(id, 'waiting', {}, detail);
      this.#emit({ type: 'lease', reason: 'waiting', task: id, heldBy: acquired.heldBy.holder, run: spec.name, at: this.#now() });
      this.#waiting.add(id);
      return;
    }
    live.lease = acquired.lease;
    this.#emit({
      type: 'lease',
      reason: 'acquired',
      task: id,
      token: acquired.lease.token,
      globs: acquired.lease.globs,
      run: spec.name,
      at: this.#now(),
    });
    const renew = setInterval(() => {
      const l = live.lease;
      if (l && !this.#o.store.renew(l.id, l.token, spec.lease.ttlMs)) live.controller?.abort();
    }, Math.max(1000, spec.lease.ttlMs / 3));
    try {
      await this.#startAndWork(id, task, live);
    } finally {
      clearInterval(renew);
    }
  }

  async #startAndWork(id: string, task: TaskSpec, live: Live): Promise<void> {
    const { git } = this.#o;
    this.#transition(id, 'starting', { startedAt: this.#now() });
    const from = await git.integrationHead(this.#into);
    const wt = await git.createWorktree(this.#spec.name, id, from);
    if (!wt.ok) return this.#fail(id, `could not create the worktree: ${wt.error}`);
    Object.assign(live, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha, auditBase: wt.value.startSha });
    this.#o.store.updateTask(this.#spec.name, id, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha });
    if (live.mergeReady) {
      live.mergeReady = false;
      await this.#commitLeftovers(id, task, live);
      this.#transition(id, 'queued', {}, 'passed its check before the runner stopped: merging without running its agent again');
      this.#enqueueMerge(id);
      return;
    }

    const setup = task.setup ?? this.#spec.setup;
    live.controller = new AbortController();
    if (setup) {
      const res = await this.#shell(id, live, 'setup', setup, task.timeoutMs);
      if (res.cancelled || this.#stopping) return this.#cancel(id);
      if (res.exitCode !== 0) return this.#fail(id, `setup \`${setup}\` failed (exit ${res.exitCode ?? res.signal})`);
    }
    await this.#attempts(id, task, live, undefined);
  }

  /** Agent, commit, check, audit; retried up to `retries`. Ends in queued, failed or cancelled. */
  async #attempts(id: string, task: TaskSpec, live: Live, first: RetryContext | undefined): Promise<void> {
    let retry = first;
    for (;;) {
      live.tries++;
      live.attempt++;
      live.controller = new AbortController();
      const attemptStart = this.#now();
      this.#transition(id, 'running', { attempts: live.attempt });
      this.#o.store.startAttempt(this.#spec.name, id, live.attempt, { startedAt: attemptStart, logFile: this.#logFile(id, live.attempt) });
      const result = await this.#runAgent(id, task, live, retry);
      if (live.controller.signal.aborted || this.#stopping) {
        await this.#commitLeftovers(id, task, live);
        this.#o.store.finishAttempt(this.#spec.name, id, live.attempt, { endedAt: this.#now(), outcome: 'cancelled', sessionId: live.sessionId });
        return this.#cancel(id);
      }
      await this.#commitLeftovers(id, task, live);
      let failure: RetryContext | undefined;
      if (!result.ok) {
        failure = { kind: 'agent-failed', message: describeAgentFailure(result) };
      } else {
        const check = task.check ?? this.#spec.check;
        if (check) {
          this.#transition(id, 'checking');
          const left = Math.max(1000, task.timeoutMs - (this.#now() - attemptStart));
          const res = await this.#shell(id, live, 'task', check, left);
          if (res.cancelled || this.#stopping) return this.#cancel(id);
          if (res.exitCode !== 0) failure = { kind: 'check-failed', command: check, output: res.output };
        }
        if (!failure) failure = await this.#audit(id, task, live);
      }
      this.#o.store.finishAttempt(this.#spec.name, id, live.attempt, {
        endedAt: this.#now(),
        outcome: !result.ok ? (result.failure ?? 'exit') : failure ? failure.kind : 'ok',
        exitCode: result.exitCode ?? undefined,
        costUsd: result.costUsd,
        turns: result.turns,
        sessionId: live.sessionId,
        detail: failure ? failureDetail(failure) : undefined,
      });
      if (!failure) {
        this.#transition(id, 'queued');
        this.#enqueueMerge(id);
        return;
      }
      // A retry would start from what the tampering left, and be judged against it.
      if (live.tries > task.retries || result.failure === 'tampered') return this.#fail(id, failureDetail(failure));
      retry = failure;
    }
  }

  async #runAgent(id: string, task: TaskSpec, live: Live, retry: RetryContext | undefined): Promise<AgentResult> {
    const spec = this.#spec;
    const runner = this.#o.agents.get(task.agent.kind);
    if (!runner) return { ok: false, failure: 'spawn', exitCode: null, signal: null, message: `no runner for agent kind ${task.agent.kind}` };
    // After a crash, the first attempt picks the agent's session up where it was cut off.
    const sessions = RESUMABLE_KINDS.has(task.agent.kind);
    const continuing = live.interrupted === true && retry === undefined && sessions && live.sessionId !== undefined;
    live.interrupted = false;
    const resumeSession = (retry || continuing) && sessions ? live.sessionId : undefined;
    const prompt = continuing
      ? interruptedFollowUp()
      : resumeSession && retry
        ? buildFollowUp(retry)
        : buildPrompt(spec, task, this.#depResults(task), retry);
    mkdirSync(this.#o.logsDir, { recursive: true });
    const promptFile = join(this.#o.logsDir, `${id}.${live.attempt}.prompt.md`);
    writeFileSync(promptFile, prompt);
    const enforcement = this.#o.enforcement?.forTask({ run: spec.name, task, worktree: live.worktree!, lease: live.lease! });
    const watch = await this.#o.enforcement?.watch?.({ run: spec.name, task, worktree: live.worktree! });
    live.agentStartedAt = this.#now();
    const base = { type: 'agent' as const, task: id, attempt: live.attempt, run: spec.name };
    const result = await runner.run({
      run: spec.name,
      task,
      agent: task.agent,
      attempt: live.attempt,
      worktree: live.worktree!,
      prompt,
      promptFile,
      resumeSession,
      env: { ...this.#env, ...task.env, ...enforcement?.env },
      settingsJson: enforcement?.settingsJson,
      timeoutMs: task.timeoutMs,
      logFile: this.#logFile(id, live.attempt),
      signal: live.controller!.signal,
      onEvent: (out: AgentOutput) => {
        if (out.reason === 'session') {
          live.sessionId = out.sessionId;
          this.#o.store.updateTask(spec.name, id, { sessionId: out.sessionId });
        }
        this.#emit({ ...base, ...out, at: this.#now() } as SwarmEvent);
        // After the api-retry event, so the stream shows the cause before the lowered limit.
        if (out.reason === 'api-retry') {
          const lowered = this.#limiter.onRetry(this.#now());
          if (lowered !== undefined) this.#setLimit(lowered, 'lowered');
        }
      },
    });
    live.agentMs += this.#now() - live.agentStartedAt;
    const tampered = watch ? this.#findings(id, await watch.after()) : [];
    if (result.sessionId) live.sessionId = result.sessionId;
    if (result.message && result.ok) live.summary = result.message;
    const cost = result.costUsd ?? 0;
    this.#costUsd += cost;
    live.costUsd += cost;
    live.turns += result.turns ?? 0;
    this.#o.store.updateTask(spec.name, id, { costUsd: live.costUsd, turns: live.turns, sessionId: live.sessionId });
    this.#emit({
      ...base,
      reason: 'exited',
      ok: result.ok,
      exitCode: result.exitCode,
      signal: result.signal,
      costUsd: result.costUsd,
      turns: result.turns,
      message: result.message,
      at: this.#now(),
    });
    if (spec.budgetUsd !== undefined && this.#costUsd >= spec.budgetUsd && !this.#budgetHit) {
      this.#budgetHit = true;
      this.#log(
        'warning',
        `the run has spent $${this.#costUsd.toFixed(2)} of its budget_usd $${spec.budgetUsd}: no new task starts; running ones finish. Raise budget_usd and run again to go on.`,
      );
    }
    if (tampered.length === 0) return result;
    return { ...result, ok: false, failure: 'tampered', message: `the agent changed what no agent may touch: ${tampered.join(', ')}` };
  }

  /** Emits what the enforcement saw of an attempt; returns the tampering that refuses it (enforce: block). */
  #findings(id: string, found: AttemptFindings): readonly string[] {
    const run = this.#spec.name;
    for (const v of found.violations) this.#emit({ type: 'lease', reason: 'violation', task: id, path: v.path, where: v.where, blocked: v.blocked, run, at: v.at });
    const blocked = this.#spec.lease.enforce === 'block';
    for (const path of found.tampered) this.#emit({ type: 'lease', reason: 'violation', task: id, path, where: 'tamper', blocked, run, at: this.#now() });
    return blocked ? found.tampered : [];
  }

  async #commitLeftovers(id: string, task: TaskSpec, live: Live): Promise<void> {
    if (!live.worktree) return;
    try {
      // --no-verify: the user's own pre-commit hook must not make swarm drop an agent's work; the check and the audit judge it.
      await this.#o.git.commitAll(live.worktree, `swarm(${id}): ${task.title}`, { noVerify: true });
    } catch (error) {
      this.#log('warning', `task ${id}: could not commit what the agent left: ${messageOf(error)}`);
    }
  }

  async #audit(id: string, task: TaskSpec, live: Live): Promise<RetryContext | undefined> {
    const enforcement = this.#o.enforcement;
    if (!enforcement || this.#spec.lease.enforce === 'off') return undefined;
    const paths = await this.#o.git.changedPaths(live.worktree!, live.auditBase!);
    const outside = enforcement.audit(paths, task.files);
    const links = (await enforcement.escapingLinks?.(live.worktree!, live.auditBase!)) ?? [];
    if (outside.length === 0 && links.length === 0) return undefined;
    const blocked = this.#spec.lease.enforce === 'block';
    for (const path of outside) {
      this.#emit({ type: 'lease', reason: 'violation', task: id, path, where: 'audit', blocked, run: this.#spec.name, at: this.#now() });
    }
    for (const path of links) {
      this.#emit({ type: 'lease', reason: 'violation', task: id, path, where: 'symlink', blocked, run: this.#spec.name, at: this.#now() });
    }
    return blocked ? { kind: 'audit', paths: [...outside, ...links] } : undefined;
  }

  async #shell(id: string, live: Live, scope: 'setup' | 'task', command: string, timeoutMs: number) {
    const base = { type: 'check' as const, task: id, attempt: live.attempt, scope, command, run: this.#spec.name };
    this.#emit({ ...base, reason: 'started', at: this.#now() });
    const logFile = this.#logFile(id, Math.max(1, live.attempt));
    const res = await this.#o.shell.run({
      command,
      cwd: live.worktree!,
      env: { ...this.#env, ...this.#tasks.get(id)!.env, SWARM_TASK: id, SWARM_RUN: this.#spec.name, SWARM_WORKTREE: live.worktree! },
      timeoutMs,
      signal: live.controller!.signal,
      onLine: (line) => appendLog(logFile, { t: this.#now(), stream: scope === 'setup' ? 'setup' : 'check', line }),
    });
    const passed = res.exitCode === 0;
    this.#emit({ ...base, reason: passed ? 'passed' : 'failed', exitCode: res.exitCode, tail: res.output.slice(-2000), at: this.#now() });
    return res;
  }

  // ------------------------------------------------------------------ merging

  #enqueueMerge(id: string): void {
    this.#emit({ type: 'merge', reason: 'queued', task: id, run: this.#spec.name, at: this.#now() });
    // The merge queue is ordered like the slots: what unblocks the longest chain lands first.
    void this.#mergeQueue.add(() => this.#guard(id, () => this.#merge(id)), { priority: this.#priority.get(id) ?? 0 }).finally(() => this.#checkDone());
  }

  async #merge(id: string): Promise<void> {
    const task = this.#tasks.get(id)!;
    const live = this.#live.get(id)!;
    const spec = this.#spec;
    if (this.#forced) return this.#cancel(id);
    this.#transition(id, 'merging');
    this.#emit({ type: 'merge', reason: 'started', task: id, run: spec.name, at: this.#now() });
    // A zombie from an older attempt, or a task whose lease was taken over, must never land.
    if (!live.lease || !this.#o.store.isCurrent(live.lease.id, live.lease.token)) {
      return this.#fail(id, 'its lease was lost (expired or taken over) before the merge; not merged');
    }
    const outcome = await this.#o.git.merge({
      run: spec.name,
      into: spec.into,
      task: id,
      branch: live.branch!,
      strategy: spec.merge.strategy,
      message: `swarm(${id}): ${task.title}`,
      check: spec.merge.check,
      env: { ...this.#env, SWARM_RUN: spec.name, SWARM_TASK: id },
      // Kept while the check runs: if the runner dies now, the resumed run knows what to undo.
      onChecking: ({ before, after }) => this.#o.store.updateTask(spec.name, id, { mergeBase: before, mergedSha: after }),
    });
    switch (outcome.kind) {
      case 'merged': {
        this.#emit({ type: 'merge', reason: 'merged', task: id, commit: outcome.commit, run: spec.name, at: this.#now() });
        this.#o.store.recordDuration(id, Math.max(1, live.agentMs));
        this.#transition(id, 'merged', { mergedSha: outcome.commit, mergeBase: undefined, endedAt: this.#now() });
        this.#releaseLease(id);
        this.#pump();
        if (!this.#o.keepWorktrees && live.worktree) {
          // Not in the merge queue's time: the next merge need not wait for files to be deleted.
          const git = this.#o.git;
          const path = live.worktree;
          const release = (git.releaseWorktree ? git.releaseWorktree(path) : git.removeWorktree(path)).catch((e: unknown) =>
            this.#log('warning', `task ${id}: worktree kept: ${messageOf(e)}`),
          );
          this.#cleanups.add(release);
          void release.finally(() => this.#cleanups.delete(release));
        }
        return;
      }
      case 'conflict': {
        this.#emit({ type: 'merge', reason: 'conflict', task: id, files: outcome.files, run: spec.name, at: this.#now() });
        if (spec.merge.onConflict === 'fail' || live.conflictRounds >= MAX_CONFLICT_ROUNDS || this.#stopping) {
          this.#transition(id, 'conflicted', { endedAt: this.#now() }, `merge conflict in ${outcome.files.join(', ')}`);
          this.#releaseLease(id);
          this.#pump();
          return;
        }
        live.conflictRounds++;
        this.#transition(id, 'resolving', {}, `resolving a conflict in ${outcome.files.join(', ')}`);
        // The resolution is agent work: it takes a slot like any agent, ahead of new tasks.
        this.#inflight++;
        void this.#queue
          .add(() => this.#guard(id, () => this.#resolve(id, task, live)), { priority: Number.MAX_SAFE_INTEGER })
          .finally(() => {
            this.#inflight--;
            this.#checkDone();
          });
        return;
      }
      case 'check-failed': {
        if (spec.merge.check) this.#o.store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
        this.#emit({ type: 'merge', reason: 'undone', task: id, detail: outcome.output.slice(-2000), run: spec.name, at: this.#now() });
        return this.#fail(id, `merge.check \`${spec.merge.check}\` failed after merging (exit ${outcome.exitCode}); the merge was undone`);
      }
    }
  }

  async #resolve(id: string, task: TaskSpec, live: Live): Promise<void> {
    const head = await this.#o.git.integrationHead(this.#into);
    const { conflicted } = await this.#o.git.mergeIntegrationIntoTask(live.worktree!, this.#into);
    live.auditBase = head;
    if (conflicted.length === 0) {
      await this.#commitLeftovers(id, task, live);
      this.#transition(id, 'queued');
      this.#enqueueMerge(id);
      return;
    }
    // The agent resolves the markers; then the usual check and audit, counted as a fresh round of retries.
    live.tries = 0;
    await this.#attemptsFromResolving(id, task, live, { kind: 'conflict', files: conflicted, into: this.#into });
  }

  async #attemptsFromResolving(id: string, task: TaskSpec, live: Live, ctx: RetryContext): Promise<void> {
    live.controller = new AbortController();
    live.attempt++;
    live.tries++;
    this.#o.store.updateTask(this.#spec.name, id, { attempts: live.attempt });
    this.#o.store.startAttempt(this.#spec.name, id, live.attempt, { startedAt: this.#now(), logFile: this.#logFile(id, live.attempt) });
    const result = await this.#runAgent(id, task, live, ctx);
    this.#o.store.finishAttempt(this.#spec.name, id, live.attempt, {
      endedAt: this.#now(),
      outcome: result.ok ? 'ok' : (result.failure ?? 'exit'),
      exitCode: result.exitCode ?? undefined,
      costUsd: result.costUsd,
      turns: result.turns,
      sessionId: live.sessionId,
    });
    await this.#commitLeftovers(id, task, live);
    if (live.controller.signal.aborted || this.#stopping) return this.#cancel(id);
    if (!result.ok) {
      this.#transition(id, 'conflicted', { endedAt: this.#now() }, `the agent could not resolve the conflict: ${describeAgentFailure(result)}`);
      this.#releaseLease(id);
      this.#pump();
      return;
    }
    const check = task.check ?? this.#spec.check;
    if (check) {
      this.#transition(id, 'checking');
      const res = await this.#shell(id, live, 'task', check, task.timeoutMs);
      if (res.cancelled || this.#stopping) return this.#cancel(id);
      if (res.exitCode !== 0) {
        if (live.tries > task.retries) return this.#fail(id, `check \`${check}\` failed after resolving the conflict`);
        return this.#attempts(id, task, live, { kind: 'check-failed', command: check, output: res.output });
      }
    }
    const audit = await this.#audit(id, task, live);
    if (audit) return this.#fail(id, failureDetail(audit));
    this.#transition(id, 'queued');
    this.#enqueueMerge(id);
  }

  // ------------------------------------------------------------------ endings

  #fail(id: string, detail: string): void {
    this.#transition(id, 'failed', { endedAt: this.#now() }, detail);
    this.#releaseLease(id);
    this.#pump();
  }

  #cancel(id: string): void {
    const live = this.#live.get(id)!;
    if (!TERMINAL_STATES.has(live.state)) this.#transition(id, 'cancelled', { endedAt: this.#now() }, 'stopped by the user');
    this.#releaseLease(id);
  }

  #releaseLease(id: string): void {
    const live = this.#live.get(id)!;
    const lease = live.lease;
    if (!lease) return;
    live.lease = undefined;
    this.#o.store.release(lease.id, lease.token);
    this.#emit({ type: 'lease', reason: 'released', task: id, token: lease.token, globs: lease.globs, run: this.#spec.name, at: this.#now() });
    this.#retryWaiting();
  }

  // ------------------------------------------------------------------ plumbing

  /** The one way a task changes state: checked, stored with its event in one transaction, then told. */
  #transition(id: string, to: TaskState, patch: TaskPatch = {}, detail?: string): void {
    const live = this.#live.get(id)!;
    const from = live.state;
    if (!canTransition(from, to)) throw new Error(`bug: task ${id} cannot go from ${from} to ${to}`);
    const event: SwarmEvent = {
      type: 'task',
      reason: 'state',
      task: id,
      from,
      to,
      attempt: live.attempt,
      run: this.#spec.name,
      at: this.#now(),
      ...(detail === undefined ? {} : { detail }),
    };
    this.#o.store.transition(this.#spec.name, id, to, detail === undefined ? patch : { ...patch, detail }, event);
    live.state = to;
    if (to !== 'waiting') this.#waiting.delete(id);
    for (const l of this.#listeners) l(event);
  }

  #emit(event: SwarmEvent): void {
    if (event.type !== 'task') this.#o.store.appendEvent(event);
    for (const l of this.#listeners) l(event);
  }

  #log(reason: 'info' | 'warning', message: string): void {
    this.#emit({ type: 'log', reason, message, run: this.#spec.name, at: this.#now() });
  }

  #state(id: string): TaskState {
    return this.#live.get(id)?.state ?? 'pending';
  }

  #depResults(task: TaskSpec): DependencyResult[] {
    return [...task.dependsOn].sort().map((d) => {
      const t = this.#tasks.get(d)!;
      return { id: d, title: t.title, files: t.files, summary: this.#live.get(d)?.summary };
    });
  }

  #logFile(id: string, attempt: number): string {
    return join(this.#o.logsDir, `${id}.${attempt}.jsonl`);
  }

  #now(): number {
    return this.#o.clock.now();
  }
}

function appendLog(file: string, entry: object): void {
  try {
    appendFileSync(file, `${JSON.stringify(entry)}\n`);
  } catch {
    /* the log is best effort; the events carry the essentials */
  }
}

function describeAgentFailure(r: AgentResult): string {
  if (r.failure === 'tampered') return r.message ?? 'the agent changed what no agent may touch';
  const how =
    r.failure === 'timeout'
      ? 'timed out'
      : r.failure === 'is-error'
        ? 'reported an error'
        : r.failure === 'spawn'
          ? 'could not start'
          : r.signal
            ? `was killed by ${r.signal}`
            : `exited with code ${r.exitCode}`;
  // The runner's message often says the same ("killed by SIGKILL"): don't say it twice.
  if (!r.message) return `the agent ${how}`;
  return r.message.includes(how.replace(/^was /, '')) ? `the agent ${how}` : `the agent ${how}: ${r.message}`;
}

function failureDetail(f: RetryContext): string {
  switch (f.kind) {
    case 'agent-failed':
      return f.message;
    case 'check-failed':
      return `check \`${f.command}\` failed`;
    case 'audit':
      return `changed files outside its globs: ${f.paths.join(', ')}`;
    case 'conflict':
      return `merge conflict in ${f.files.join(', ')}`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A run record without the previous runner's start time (the caller sets its own). */
function withoutRunner(run: RunRecord): RunRecord {
  const { pidStart: _previous, ...rest } = run;
  return rest;
}
