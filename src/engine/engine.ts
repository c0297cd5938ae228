// Over 400 lines, for now: the scheduler, one task's life, the merge queue and crash
// recovery still share this class and its per-task state. Issue 13 splits it along those
// seams (scheduler, task-run, merge-queue, recover); until then, each section is marked.
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
  BranchCommit,
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
import { elidedText, OutputBudget } from './output-budget.js';
import { buildFollowUp, buildPrompt, withHeldCommits, type DependencyResult, type RetryContext } from './prompt.js';
import { RateLimiter } from './rate-limit.js';
import { INTERRUPTED_STATES, interruptedFollowUp, MERGE_READY_STATES, planResume, taskHash } from './resume.js';
import { mergeMovedBase } from './moved-base.js';
import type { PublishPort } from './publish.js';
import { foldRecord, type RecordedMerge, recordedMerges, taskTrailers } from './record.js';
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
  /**
   * Accept the integration branch where it is now, though swarm did not leave it there
   * (`--accept-branch`: the user moved it on purpose). Otherwise a moved branch stops the run.
   */
  readonly acceptMovedBranch?: boolean;
  /** Test-only crash points: called at each named point of a merge (see util/crash-point.ts). */
  readonly crashPoint?: (name: CrashPoint) => void;
  /** Do not rebuild the run from the integration branch's record (`--fresh`). */
  readonly ignoreRecord?: boolean;
  /** `--push`: where merges and unmerged tasks' work go (engine/publish.ts); undefined pushes nothing. */
  readonly publish?: PublishPort;
}

/** Where a test can kill the runner in a merge: after each durable step. */
export type CrashPoint = 'merge:prepared' | 'merge:intent' | 'merge:checked' | 'merge:landed' | 'merge:recorded' | 'push:integration';

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
  /** The task commit the last passing audit saw: exactly what is merged. */
  audited?: string;
  /** The last audit found no file changed from where the task started. */
  empty?: boolean;
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
  /** Its lease row was deleted, expired or taken over while it worked: it must not merge. */
  leaseLost?: boolean;
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
  readonly #output = new OutputBudget();
  #stopping = false;
  #forced = false;
  #budgetHit = false;
  #costUsd = 0;
  #startedAt = 0;
  #into = '';
  /** The integration branch's head as swarm last wrote it: the expected value of every move. */
  #head = '';
  /** Set when the integration branch moved under the run: the run stops and this is its error. */
  #fatal: string | undefined;
  /** Why the run stopped when the user did not stop it (a refused login): the detail of the tasks it cancels. */
  #stopReason: string | undefined;
  /** The run record read from the integration branch: each task's newest landing. */
  #recorded: ReadonlyMap<string, RecordedMerge> = new Map();
  /** Aborts a running merge.check on a forced stop. */
  readonly #mergeAbort = new AbortController();
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
    for (const [rank, id] of ids.entries()) this.#priority.set(id, fifo ? 0 : options.graph.remaining(id) * (ids.length + 1) + (ids.length - rank));
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
    if (force) this.#mergeAbort.abort();
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
      // Resolved again at every run: a base that moved since (a fix on main) is merged in below.
      const now = await git.resolve(spec.base).catch((e: unknown) => (previous ? previous.baseSha : Promise.reject(e)));
      this.#head = await git.ensureIntegrationBranch(spec.into, previous?.baseSha ?? now, spec.name);
      baseSha = now;
    } catch (error) {
      return err(messageOf(error));
    }

    const hashes = new Map(spec.tasks.map((t) => [t.id, taskHash(spec, t)]));
    const prevTasks = new Map<string, TaskRecord>(previous ? store.getTasks(spec.name).map((r) => [r.task, r]) : []);
    const crashed = previous?.status === 'running';
    const expected = previous?.headSha === undefined ? undefined : this.#reconcileMergeIntent(previous.headSha, prevTasks);
    const entries = this.#o.ignoreRecord ? [] : ((await git.readRecord?.(spec.into, spec.name).catch(() => [])) ?? []);
    this.#recorded = recordedMerges(entries, spec.name);
    if (expected !== undefined && expected !== this.#head && !(await this.#isBaseMergeOn(expected, entries))) {
      const moved = await this.#describeForeignMove(expected, this.#head);
      if (!this.#o.acceptMovedBranch) return err(moved);
      this.#log('warning', `the integration branch ${spec.into} was moved outside swarm, to ${this.#head.slice(0, 12)}; accepted (--accept-branch)`);
    }
    if (previous) await this.#recover(previous, crashed, prevTasks);
    const fromGit = foldRecord(
      spec.name,
      prevTasks,
      this.#recorded,
      new Set(hashes.keys()),
      (id) => git.taskBranch?.(spec.name, id) ?? `swarm-task/${spec.name}/${id}`,
    );
    if (fromGit.length > 0) {
      this.#log(
        'info',
        `the run record on ${spec.into} shows ${fromGit.join(', ')} merged, which ${previous ? 'state.db did not know' : 'this clone has no state.db for'}: rebuilt from git`,
      );
    }
    const inIntegration = new Set<string>();
    for (const [id, rec] of prevTasks) {
      if (await this.#workIsIn(rec, spec.into)) inIntegration.add(id);
    }
    const plan = planResume(this.#o.graph, hashes, prevTasks, inIntegration);
    for (const id of plan.changed) this.#log('info', `task ${id} changed since it ran: it runs again, with everything downstream of it`);
    for (const id of plan.lostMerges) this.#log('warning', `task ${id} was merged before but its work is not on ${spec.into}: it runs again`);
    for (const id of plan.recoveredMerges) {
      this.#log('info', `task ${id} was merged into ${spec.into} just before the runner stopped: recorded merged, not merged again`);
    }
    for (const id of plan.recoveredMerges) {
      const wt = prevTasks.get(id)!.worktree;
      if (wt && !this.#o.keepWorktrees) await git.removeWorktree(wt).catch((e: unknown) => this.#log('warning', `task ${id}: worktree kept: ${messageOf(e)}`));
    }
    // Straight to the merge queue only with the branch that passed the check; if it is gone (cleaned), the agent runs again.
    const mergeReady = new Set<string>();
    for (const id of plan.mergeReady) {
      const branch = prevTasks.get(id)?.branch;
      if (
        branch &&
        (await git.resolve(`refs/heads/${branch}`).then(
          () => true,
          () => false,
        ))
      )
        mergeReady.add(id);
    }
    for (const id of mergeReady) this.#log('info', `task ${id} had passed its check before the runner stopped: it goes straight to the merge queue`);
    // A merged task that runs again starts over from the integration head, on a fresh branch.
    for (const id of [...plan.changed, ...plan.downstreamOfChange]) {
      const rec = prevTasks.get(id);
      if (rec?.state === 'merged' && rec.branch && inIntegration.has(id)) await git.deleteBranch(rec.branch).catch(() => undefined);
    }
    await this.#setAsideChanged([...plan.changed, ...plan.downstreamOfChange], prevTasks);

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
    if (previous && wanted.every((id) => plan.keepMerged.has(id))) return this.#published(this.#nothingToDo(previous, baseSha, plan.recoveredMerges));
    const base = await mergeMovedBase(
      { spec, git, shell: this.#o.shell, env: this.#env, signal: this.#mergeAbort.signal, log: (m) => this.#log('info', m) },
      baseSha,
      this.#head,
    );
    if (base.kind === 'moved') return err(await this.#describeForeignMove(this.#head, base.actual));
    if (base.kind === 'failed') return err(base.message);
    if (base.kind === 'merged') this.#head = base.head;
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
    store.setIntegrationHead(spec.name, this.#head);
    for (const id of fromGit)
      store.updateTask(spec.name, id, { mergedSha: prevTasks.get(id)!.mergedSha, branch: prevTasks.get(id)!.branch, attempts: prevTasks.get(id)!.attempts });
    this.#emitStarted(baseSha, previous !== undefined || fromGit.length > 0);
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
    // An agent (or anyone) may have moved the branch after the last merge: say so now, not at the next run.
    if (this.#fatal === undefined) {
      const now = await git.integrationHead(spec.into).catch(() => undefined);
      if (now !== undefined && now !== this.#head) this.#fatal = await this.#describeForeignMove(this.#head, now);
    }
    await this.#publishEnd();

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
    if (this.#fatal !== undefined) return err(this.#fatal);
    return ok({ outcome, merged, total: selected.length, costUsd: this.#costUsd });
  }

  /**
   * A merge whose runner died between its write-ahead record and its end: the branch at the
   * recorded merge means it landed (the branch moves only after merge.check passed), at the
   * recorded base that it did not. Returns where swarm last left the branch.
   */
  #reconcileMergeIntent(head: string, prevTasks: Map<string, TaskRecord>): string {
    const { store } = this.#o;
    const spec = this.#spec;
    for (const [id, rec] of prevTasks) {
      if (rec.state !== 'merging' || rec.mergeBase === undefined || rec.mergedSha === undefined) continue;
      if (this.#head === rec.mergedSha) {
        store.updateTask(spec.name, id, { mergeBase: undefined });
        prevTasks.set(id, { ...rec, state: 'merged', mergeBase: undefined });
        this.#log('info', `task ${id}: its merge ${rec.mergedSha.slice(0, 12)} had landed, checked, just before the runner stopped`);
        return rec.mergedSha;
      }
      store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
      prevTasks.set(id, { ...rec, mergeBase: undefined, mergedSha: undefined });
      if (this.#head === rec.mergeBase) this.#log('info', `task ${id}: its merge had not landed when the runner stopped; it is merged again`);
    }
    return head;
  }

  /** What to tell the user when the integration branch is not where swarm left it. */
  async #describeForeignMove(expected: string, actual: string): Promise<string> {
    const into = this.#spec.into;
    const foreign = await this.#o.git.commitsBetween(expected, actual).catch(() => []);
    const listed = foreign.slice(0, 5).map((c) => `${c.sha.slice(0, 12)} ${c.subject}`);
    const more = foreign.length > 5 ? ` and ${foreign.length - 5} more` : '';
    return (
      `the integration branch ${into} was moved outside swarm: it is at ${actual.slice(0, 12)}, swarm left it at ${expected.slice(0, 12)}` +
      (listed.length > 0 ? ` (commits swarm did not make: ${listed.join('; ')}${more})` : '') +
      `. Nothing more is merged onto it. If an agent did this, put it back: \`git update-ref refs/heads/${into} ${expected} ${actual}\`; ` +
      `if you moved it yourself on purpose, run again with --accept-branch`
    );
  }

  /**
   * The branch is one commit past where swarm left it, and that commit is this run's merge
   * of a moved base (the runner died between landing it and recording it): not a foreign move.
   */
  async #isBaseMergeOn(expected: string, entries: readonly { landed: string; base?: string }[]): Promise<boolean> {
    if (!entries.some((e) => e.landed === this.#head && e.base !== undefined)) return false;
    return (await this.#o.git.resolve(`${this.#head}^1`).catch(() => undefined)) === expected;
  }

  /** With --push: the integration branch and unmerged tasks' work go out; a refusal is the run's error. */
  async #publishEnd(): Promise<void> {
    const publish = this.#o.publish;
    if (!publish) return;
    const unmerged = [...this.#selected].filter((id) => this.#state(id) !== 'merged');
    const refused = await publish.finish(this.#fatal === undefined ? this.#head : undefined, unmerged);
    if (refused === undefined) return;
    this.#fatal ??= refused;
    this.#log('warning', refused);
  }

  async #published(result: Result<RunSummary, string>): Promise<Result<RunSummary, string>> {
    await this.#publishEnd();
    return this.#fatal !== undefined ? err(this.#fatal) : result;
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
        this.#log(
          'warning',
          `task ${rec.task}: could not commit what its interrupted agent left in ${rec.worktree}; the worktree is kept as it is: ${messageOf(error)}`,
        );
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
   * Any other task that runs again because its definition (or one upstream) changed starts
   * over on a fresh branch from the integration head, like a merged one: its old branch
   * holds work done for the old definition, which its agent would otherwise find in its
   * worktree and build on, or do a second time. That branch is renamed, never deleted
   * while it holds commits of its own, and the log says where it went.
   */
  async #setAsideChanged(ids: readonly string[], prevTasks: ReadonlyMap<string, TaskRecord>): Promise<void> {
    const git = this.#o.git;
    if (!git.renameBranch) return;
    for (const id of [...ids].sort()) {
      const rec = prevTasks.get(id);
      const tip = rec?.branch ? await git.resolve(`refs/heads/${rec.branch}`).catch(() => undefined) : undefined;
      if (!rec?.branch || tip === undefined) continue;
      try {
        if (rec.worktree && existsSync(rec.worktree)) await git.removeWorktree(rec.worktree);
        const own = (await git.branchCommits?.(this.#head, `refs/heads/${rec.branch}`)) ?? [];
        if (own.length === 0) {
          await git.deleteBranch(rec.branch);
          continue;
        }
        const kept = `swarm-replaced/${this.#spec.name}/${id}-${tip.slice(0, 12)}`;
        await git.renameBranch(rec.branch, kept);
        this.#log(
          'warning',
          `task ${id} runs again on a fresh branch from ${this.#into}; the ${own.length} commit${own.length === 1 ? '' : 's'} of its old branch ${rec.branch} stay on branch ${kept} (as if by \`git branch ${kept} ${tip}\`)`,
        );
      } catch (error) {
        this.#log('warning', `task ${id}: its old branch ${rec.branch} could not be set aside (${messageOf(error)}); it runs again on that branch`);
      }
    }
  }

  async #workIsIn(rec: TaskRecord, into: string): Promise<boolean> {
    const git = this.#o.git;
    try {
      if (rec.state === 'merged') {
        // The recorded merge counts only if it is swarm's merge of this task: a record an
        // unsandboxed agent rewrote (merged, at some old commit) must not skip the task.
        if (rec.mergedSha && git.isAncestor && (await git.isAncestor(rec.mergedSha, into)) && (await this.#isMergeOf(rec.task, rec.mergedSha))) return true;
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

  /** Whether `sha` is a commit swarm made landing `task` (merge and squash commits are `swarm(<task>): ...`). */
  async #isMergeOf(task: string, sha: string): Promise<boolean> {
    if (this.#recorded.get(task)?.landed === sha) return true;
    const [commit] = await this.#o.git.commitsBetween(`${sha}^`, sha).catch(() => []);
    return commit !== undefined && commit.sha === sha && commit.subject.startsWith(`swarm(${task}):`);
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
      head: this.#head,
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
    const renew = setInterval(
      () => {
        const l = live.lease;
        if (l && !this.#o.store.renew(l.id, l.token, spec.lease.ttlMs)) {
          live.leaseLost = true;
          live.controller?.abort();
        }
      },
      Math.max(1000, spec.lease.ttlMs / 3),
    );
    try {
      await this.#startAndWork(id, task, live);
    } finally {
      clearInterval(renew);
    }
  }

  async #startAndWork(id: string, task: TaskSpec, live: Live): Promise<void> {
    const { git } = this.#o;
    this.#transition(id, 'starting', { startedAt: this.#now() });
    // Where swarm left the integration branch, not wherever its ref points now.
    const from = this.#head;
    const wt = await git.createWorktree(this.#spec.name, id, from);
    if (!wt.ok) return this.#fail(id, `could not create the worktree: ${wt.error}`);
    Object.assign(live, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha, auditBase: wt.value.startSha });
    this.#o.store.updateTask(this.#spec.name, id, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha });
    // A conflict resolution left unfinished (it failed, or its runner died) is undone: an agent
    // not asked to resolve it would otherwise conclude that merge with whatever it wrote,
    // dropping the integration's side. The merge raises the conflict again.
    if (await git.abortTaskMerge?.(wt.value.path)) {
      this.#log(
        'warning',
        `task ${id}: undid the unfinished merge of ${this.#into} in its worktree (a conflict resolution that did not finish); the conflict comes back at its merge`,
      );
    }
    if (!live.mergeReady && wt.value.startSha !== from) await this.#catchUp(id, live, from);
    if (live.mergeReady) {
      live.mergeReady = false;
      await this.#commitLeftovers(id, task, live);
      // Audited again: whatever reached the branch while no runner watched it is judged too.
      const audit = await this.#audit(id, task, live);
      if (audit) return this.#fail(id, failureDetail(audit));
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

  /**
   * A task that continues a branch of an earlier run (a failed task, or one fetched from the
   * remote) gets the integration head merged in first, so its agent and its check see what
   * merged since (a fix on main, its dependencies' new work). A conflict is left for the
   * merge queue, as before: the merge is undone and the branch continues as it was.
   */
  async #catchUp(id: string, live: Live, head: string): Promise<void> {
    const { git, store } = this.#o;
    try {
      const { conflicted } = await git.mergeIntegrationIntoTask(live.worktree!, this.#into, head);
      if (conflicted.length > 0) {
        await git.abortTaskMerge?.(live.worktree!);
        return;
      }
    } catch (error) {
      await git.abortTaskMerge?.(live.worktree!).catch(() => false);
      this.#log('warning', `task ${id}: could not merge ${this.#into} into its branch (${messageOf(error)}); it continues as it was`);
      return;
    }
    Object.assign(live, { startSha: head, auditBase: head });
    store.updateTask(this.#spec.name, id, { startSha: head });
    this.#log('info', `task ${id}: continues its branch ${live.branch} from an earlier run, with ${this.#into} (${head.slice(0, 12)}) merged in`);
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
      if (result.failure === 'auth') this.#stopForAuth(id, result.message);
      // Looked at as soon as the agent is gone, not at the next renewal: an agent that deleted
      // its own lease row must not go on to the check and the merge while another holder has its files.
      if (live.lease && !this.#o.store.isCurrent(live.lease.id, live.lease.token)) live.leaseLost = true;
      if (live.controller.signal.aborted || this.#stopping || live.leaseLost) {
        await this.#commitLeftovers(id, task, live);
        const outcome = live.leaseLost ? 'lease-lost' : result.failure === 'auth' ? 'auth' : 'cancelled';
        this.#o.store.finishAttempt(this.#spec.name, id, live.attempt, { endedAt: this.#now(), outcome, sessionId: live.sessionId });
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
        if (!failure && live.empty && !task.allowEmpty) failure = { kind: 'empty' };
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
    let resumeSession = (retry || continuing) && sessions ? live.sessionId : undefined;
    const held = await this.#heldCommits(live);
    let prompt = continuing
      ? withHeldCommits(interruptedFollowUp(), held)
      : resumeSession && retry
        ? buildFollowUp(retry, held)
        : buildPrompt(spec, task, this.#depResults(task), retry, held);
    for (;;) {
      const result = await this.#invokeAgent(runner, id, task, live, prompt, resumeSession);
      if (result.failure !== 'session-missing' || resumeSession === undefined || live.controller!.signal.aborted || this.#stopping) return result;
      // The session is gone (another HOME, its files deleted): nothing ran, so the same
      // attempt starts a new session with the whole task, once, without spending a retry.
      this.#log(
        'warning',
        `task ${id}: its agent's session ${resumeSession} could not be resumed (${result.message ?? 'not found'}); attempt ${live.attempt} starts a new session with the full prompt (no retry spent)`,
      );
      live.sessionId = undefined;
      this.#o.store.updateTask(spec.name, id, { sessionId: undefined });
      resumeSession = undefined;
      prompt = buildPrompt(spec, task, this.#depResults(task), retry, held);
    }
  }

  /** What the task's branch already holds of its own, for the prompt; nothing when git cannot say. */
  async #heldCommits(live: Live): Promise<BranchCommit[]> {
    if (!this.#o.git.branchCommits || !live.startSha || !live.branch) return [];
    return this.#o.git.branchCommits(live.startSha, `refs/heads/${live.branch}`).catch(() => []);
  }

  /** One run of the agent process: its events, its cost, its `exited` event. */
  async #invokeAgent(runner: AgentRunner, id: string, task: TaskSpec, live: Live, prompt: string, resumeSession: string | undefined): Promise<AgentResult> {
    const spec = this.#spec;
    mkdirSync(this.#o.logsDir, { recursive: true });
    const promptFile = join(this.#o.logsDir, `${id}.${live.attempt}.prompt.md`);
    writeFileSync(promptFile, prompt);
    const enforcement = this.#o.enforcement?.forTask({ run: spec.name, task, worktree: live.worktree!, lease: live.lease! });
    const watch = await this.#o.enforcement?.watch?.({ run: spec.name, task, worktree: live.worktree! });
    live.agentStartedAt = this.#now();
    const base = { type: 'agent' as const, task: id, attempt: live.attempt, run: spec.name };
    const logFile = this.#logFile(id, live.attempt);
    const budgetKey = `${id}.${live.attempt}`;
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
      logFile,
      signal: live.controller!.signal,
      onEvent: (out: AgentOutput) => {
        if (out.reason === 'session') {
          live.sessionId = out.sessionId;
          this.#o.store.updateTask(spec.name, id, { sessionId: out.sessionId });
        }
        if (out.reason === 'output') {
          // Every line reaches the reporters; state.db keeps a bounded record (see output-budget.ts).
          const event: SwarmEvent = { ...base, reason: 'output', text: this.#output.clip(out.text), at: this.#now() };
          if (this.#output.admit(budgetKey, event.text)) this.#emit(event);
          else this.#tell(event);
          return;
        }
        this.#emit({ ...base, ...out, at: this.#now() } as SwarmEvent);
        // After the api-retry event, so the stream shows the cause before the lowered limit.
        if (out.reason === 'api-retry') {
          const lowered = this.#limiter.onRetry(this.#now());
          if (lowered !== undefined) this.#setLimit(lowered, 'lowered');
        }
      },
    });
    const elided = this.#output.takeElided(budgetKey);
    if (elided) this.#emit({ ...base, reason: 'output', text: elidedText(elided, logFile), at: this.#now() });
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
      ...(result.failure === 'cancelled' ? { stopped: true } : {}),
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
    for (const v of found.violations)
      this.#emit({ type: 'lease', reason: 'violation', task: id, path: v.path, where: v.where, blocked: v.blocked, run, at: v.at });
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

  /**
   * Pins the task commit (read once, first) and audits exactly that commit: what the merge
   * takes is what was judged here, whatever is committed on the branch afterwards.
   */
  async #audit(id: string, task: TaskSpec, live: Live): Promise<RetryContext | undefined> {
    const sha = await this.#o.git.headOf(live.worktree!);
    const paths = await this.#o.git.changedPaths(live.worktree!, live.auditBase!, sha);
    live.empty = paths.length === 0;
    const enforcement = this.#o.enforcement;
    if (enforcement && this.#spec.lease.enforce !== 'off') {
      const outside = enforcement.audit(paths, task.files);
      const links = (await enforcement.escapingLinks?.(live.worktree!, live.auditBase!, sha)) ?? [];
      if (outside.length > 0 || links.length > 0) {
        const blocked = this.#spec.lease.enforce === 'block';
        for (const path of outside) {
          this.#emit({ type: 'lease', reason: 'violation', task: id, path, where: 'audit', blocked, run: this.#spec.name, at: this.#now() });
        }
        for (const path of links) {
          this.#emit({ type: 'lease', reason: 'violation', task: id, path, where: 'symlink', blocked, run: this.#spec.name, at: this.#now() });
        }
        if (blocked) return { kind: 'audit', paths: [...outside, ...links] };
      }
    }
    live.audited = sha;
    return undefined;
  }

  async #shell(id: string, live: Live, scope: 'setup' | 'task' | 'merge', command: string, timeoutMs: number, at?: { cwd: string; signal: AbortSignal }) {
    const base = { type: 'check' as const, task: id, attempt: live.attempt, scope, command, run: this.#spec.name };
    this.#emit({ ...base, reason: 'started', at: this.#now() });
    const logFile = this.#logFile(id, Math.max(1, live.attempt));
    const cwd = at?.cwd ?? live.worktree!;
    const res = await this.#o.shell.run({
      command,
      cwd,
      // merge.check runs on the integration branch: the task's own env is not its.
      // No colour unless the user asked for it: the output goes into prompts and events.
      env: {
        NO_COLOR: '1',
        FORCE_COLOR: '0',
        ...this.#env,
        ...(scope === 'merge' ? {} : this.#tasks.get(id)!.env),
        SWARM_TASK: id,
        SWARM_RUN: this.#spec.name,
        SWARM_WORKTREE: cwd,
      },
      timeoutMs,
      signal: at?.signal ?? live.controller!.signal,
      onLine: (line) => appendLog(logFile, { t: this.#now(), stream: scope === 'setup' ? 'setup' : scope === 'merge' ? 'merge-check' : 'check', line }),
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

  /**
   * Lands the audited commit: the merge is made beside the branch (write-ahead recorded),
   * merge.check runs on it, and only then does the branch move, by compare-and-swap from
   * where swarm left it. A crash at any point leaves either the old head or the checked
   * merge on the branch, and the record says which (see `#reconcileMergeIntent`).
   */
  async #merge(id: string): Promise<void> {
    const task = this.#tasks.get(id)!;
    const live = this.#live.get(id)!;
    const spec = this.#spec;
    const { git, store } = this.#o;
    if (this.#forced || this.#fatal !== undefined) return this.#cancel(id);
    this.#transition(id, 'merging');
    this.#emit({ type: 'merge', reason: 'started', task: id, run: spec.name, at: this.#now() });
    // A zombie from an older attempt, or a task whose lease was taken over, must never land.
    if (!live.lease || !store.isCurrent(live.lease.id, live.lease.token)) {
      return this.#fail(id, 'its lease was lost (expired or taken over) before the merge; not merged');
    }
    const sha = live.audited;
    if (sha === undefined) return this.#fail(id, 'it reached the merge queue without a passing audit; not merged');
    const strategy = await this.#strategyFor(id, task, live, sha);
    const expected = this.#head;
    const prepared = await git.prepareMerge({
      run: spec.name,
      into: spec.into,
      sha,
      expected,
      strategy,
      message: `swarm(${id}): ${task.title}`,
      trailers: taskTrailers(spec.name, id, taskHash(spec, task), sha),
    });
    this.#o.crashPoint?.('merge:prepared');
    if (prepared.kind === 'moved') return this.#foreignMove(id, expected, prepared.actual);
    if (prepared.kind === 'conflict') return this.#conflict(id, task, live, prepared.files);
    // Write-ahead: before the branch can move, the record says where it was and where it goes.
    store.updateTask(spec.name, id, { mergeBase: expected, mergedSha: prepared.commit });
    this.#o.crashPoint?.('merge:intent');
    if (spec.merge.check) {
      const res = await this.#shell(id, live, 'merge', spec.merge.check, task.timeoutMs, { cwd: prepared.cwd, signal: this.#mergeAbort.signal });
      this.#o.crashPoint?.('merge:checked');
      if (res.exitCode !== 0) {
        await git.abandonMerge(spec.name, spec.into);
        store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
        if (res.cancelled) return this.#cancel(id);
        this.#emit({ type: 'merge', reason: 'undone', task: id, detail: res.output.slice(-2000), run: spec.name, at: this.#now() });
        return this.#fail(
          id,
          `merge.check \`${spec.merge.check}\` failed on its merge (exit ${res.exitCode ?? res.signal}); the integration branch did not move`,
        );
      }
    }
    if (!(await git.landMerge({ run: spec.name, into: spec.into, commit: prepared.commit, expected, task: id }))) {
      store.updateTask(spec.name, id, { mergeBase: undefined, mergedSha: undefined });
      return this.#foreignMove(id, expected, await git.integrationHead(spec.into));
    }
    this.#o.crashPoint?.('merge:landed');
    this.#head = prepared.commit;
    store.setIntegrationHead(spec.name, prepared.commit);
    this.#o.crashPoint?.('merge:recorded');
    this.#o.publish?.landed(prepared.commit, (refused) => {
      this.#fatal ??= refused;
      this.#log('warning', refused);
      this.stop(false);
    });
    // After the merge: whatever reached the branch up to now, during merge.check too, is told.
    await this.#reportLateCommits(id, live, sha);
    const empty = prepared.commit === expected || live.empty === true;
    this.#emit({
      type: 'merge',
      reason: 'merged',
      task: id,
      commit: prepared.commit,
      ...(empty ? { empty: true as const } : {}),
      run: spec.name,
      at: this.#now(),
    });
    store.recordDuration(id, Math.max(1, live.agentMs));
    this.#transition(id, 'merged', { mergedSha: prepared.commit, mergeBase: undefined, endedAt: this.#now() });
    this.#releaseLease(id);
    this.#pump();
    if (!this.#o.keepWorktrees && live.worktree) {
      // Not in the merge queue's time: the next merge need not wait for files to be deleted.
      const path = live.worktree;
      const release = (git.releaseWorktree ? git.releaseWorktree(path) : git.removeWorktree(path)).catch((e: unknown) =>
        this.#log('warning', `task ${id}: worktree kept: ${messageOf(e)}`),
      );
      this.#cleanups.add(release);
      void release.finally(() => this.#cleanups.delete(release));
    }
  }

  /** Commits that reached the task branch after its audit are not merged: say so, as violations. */
  async #reportLateCommits(id: string, live: Live, audited: string): Promise<void> {
    if (!live.branch) return;
    const tip = await this.#o.git.resolve(`refs/heads/${live.branch}`).catch(() => audited);
    if (tip === audited) return;
    const late = await this.#o.git.commitsBetween(audited, tip).catch(() => []);
    for (const c of late.length > 0 ? late : [{ sha: tip, subject: '(the branch was moved)' }]) {
      this.#emit({
        type: 'lease',
        reason: 'violation',
        task: id,
        path: `${c.sha.slice(0, 12)} ${c.subject}`,
        where: 'merge',
        blocked: true,
        run: this.#spec.name,
        at: this.#now(),
      });
    }
    this.#log(
      'warning',
      `task ${id}: ${live.branch} moved after its audit (now ${tip.slice(0, 12)}); only the audited commit ${audited.slice(0, 12)} is merged`,
    );
  }

  /**
   * A branch whose history holds a change the audit refused (made, then reverted on a
   * retry) lands as one squash commit, so the refused change never enters the integration
   * history; the diff as a whole passed the audit.
   */
  async #strategyFor(id: string, task: TaskSpec, live: Live, sha: string): Promise<Spec['merge']['strategy']> {
    const strategy = this.#spec.merge.strategy;
    const enforcement = this.#o.enforcement;
    if (strategy === 'squash' || !enforcement || this.#spec.lease.enforce !== 'block' || !live.startSha) return strategy;
    const touched = await this.#o.git.commitPaths(sha, [live.startSha, this.#head]);
    const refused = enforcement.audit(touched, task.files);
    if (refused.length === 0) return strategy;
    this.#log(
      'info',
      `task ${id}: its history holds commits that changed files outside its globs (${refused.slice(0, 5).join(', ')}), later undone; it is merged as one squash commit so they stay out of ${this.#spec.into}`,
    );
    return 'squash';
  }

  /** The integration branch is not where swarm left it: nothing more is merged, and the run stops. */
  #foreignMove(id: string, expected: string, actual: string): void {
    void this.#describeForeignMove(expected, actual).then((message) => {
      this.#fatal ??= message;
      this.#log('warning', message);
      this.stop(false);
    });
    const live = this.#live.get(id)!;
    this.#transition(id, 'cancelled', { endedAt: this.#now() }, `not merged: the integration branch ${this.#spec.into} was moved outside swarm`);
    if (live.lease) this.#releaseLease(id);
  }

  #conflict(id: string, task: TaskSpec, live: Live, files: readonly string[]): void {
    const spec = this.#spec;
    this.#emit({ type: 'merge', reason: 'conflict', task: id, files, run: spec.name, at: this.#now() });
    if (spec.merge.onConflict === 'fail' || live.conflictRounds >= MAX_CONFLICT_ROUNDS || this.#stopping) {
      this.#transition(id, 'conflicted', { endedAt: this.#now() }, `merge conflict in ${files.join(', ')}`);
      this.#releaseLease(id);
      this.#pump();
      return;
    }
    live.conflictRounds++;
    this.#transition(id, 'resolving', {}, `resolving a conflict in ${files.join(', ')}`);
    // The resolution is agent work: it takes a slot like any agent, ahead of new tasks.
    this.#inflight++;
    void this.#queue
      .add(() => this.#guard(id, () => this.#resolve(id, task, live)), { priority: Number.MAX_SAFE_INTEGER })
      .finally(() => {
        this.#inflight--;
        this.#checkDone();
      });
  }

  async #resolve(id: string, task: TaskSpec, live: Live): Promise<void> {
    const head = this.#head;
    const { conflicted } = await this.#o.git.mergeIntegrationIntoTask(live.worktree!, this.#into, head);
    live.auditBase = head;
    if (conflicted.length === 0) {
      await this.#commitLeftovers(id, task, live);
      const audit = await this.#audit(id, task, live);
      if (audit) return this.#fail(id, failureDetail(audit));
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
    if (result.failure === 'auth') this.#stopForAuth(id, result.message);
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

  /**
   * A refused login (a 401, no login) fails every agent on it alike, and with a shared OAuth
   * login one agent's token refresh can revoke the others'. Retrying or starting more tasks
   * only repeats it: the run stops as if the user had (resumable), and says once what to do.
   */
  #stopForAuth(id: string, why: string | undefined): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = `stopped: claude could not authenticate (${why ?? 'authentication failed'})`;
    this.#log(
      'warning',
      `task ${id}: claude could not authenticate (${why ?? 'authentication failed'}). The run stopped: no task is retried or started, and \`swarm run\` resumes it. ` +
        'Log in again (run `claude`, then /login), or set ANTHROPIC_API_KEY; for many agents at once, run `claude setup-token` and set CLAUDE_CODE_OAUTH_TOKEN (with agent.isolate_config: true).',
    );
    this.stop(false);
  }

  #cancel(id: string): void {
    const live = this.#live.get(id)!;
    if (live.leaseLost && !TERMINAL_STATES.has(live.state)) return this.#failLeaseLost(id, live);
    if (!TERMINAL_STATES.has(live.state)) this.#transition(id, 'cancelled', { endedAt: this.#now() }, this.#stopReason ?? 'stopped by the user');
    this.#releaseLease(id);
  }

  /**
   * The task's lease is gone (its row deleted, expired, or taken over): another holder may
   * have its files now, so its work does not merge. A failure, not retried in this run (a
   * retry would work on files someone else may hold); `swarm run` again retries it.
   */
  #failLeaseLost(id: string, live: Live): void {
    const globs = live.lease?.globs.join(', ') ?? '';
    const detail = `its lease on ${globs} was lost while it worked (the lease row was deleted, expired or taken over by another holder); its work stays on ${live.branch ?? 'its branch'} and is not merged`;
    this.#log('warning', `task ${id}: ${detail}`);
    this.#fail(id, detail);
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
    this.#tell(event);
  }

  /** To the reporters only, not to state.db. */
  #tell(event: SwarmEvent): void {
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
          : r.failure === 'session-missing'
            ? 'could not resume its session'
            : r.failure === 'auth'
              ? 'could not authenticate'
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
    case 'empty':
      return 'its agent changed no file (allow_empty: true makes that a success)';
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
