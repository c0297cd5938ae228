import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../util/process-identity.js';
import { err, ok, type Result } from '../util/result.js';
import type { EventListener, RunEvent, TaskInfo } from './events.js';
import type { LogSink, RunRecord, TaskRecord } from './ports.js';
import { droppedTasks, droppedText } from './dropped.js';
import { followForPush } from './publish-follow.js';
import { checkIntegrationHead, describeForeignMove, resume } from './recover.js';
import { foldIntoPrevious, mergeBase, publishEnd, readRecord, storeFolded } from './run-record.js';
import { taskHash } from './resume.js';
import { type EngineOptions, messageOf, RunContext } from './run-context.js';
import { Scheduler } from './scheduler.js';
import { FAILED_STATES } from './task-state.js';

export type { CrashPoint, EngineOptions } from './run-context.js';

export type RunOutcome = Extract<RunEvent, { reason: 'finished' }>['outcome'];

export interface RunSummary {
  readonly outcome: RunOutcome;
  readonly merged: number;
  readonly total: number;
  readonly costUsd: number;
  /** With outcome `usage-limit`: when to run again, for the user. */
  readonly message?: string;
}

/**
 * A run of the graph, start to end: the integration branch checked and created, what an
 * earlier runner left put right (recover.ts), the scheduler driving task runs and the merge
 * queue, then the outcome. Knows nothing of terminals, SQLite or execa: those come in
 * through the ports. See docs/architecture.md for how the parts fit.
 */
export class Engine {
  readonly #ctx: RunContext;
  readonly #scheduler: Scheduler;
  /** Tasks a template made before but makes no more, reported after the run starts. */
  #dropped: readonly string[] = [];
  /** Stops a moved base's merge.check on a forced stop. */
  readonly #baseAbort = new AbortController();

  constructor(options: EngineOptions) {
    this.#ctx = new RunContext(options);
    this.#scheduler = new Scheduler(this.#ctx);
    this.#ctx.stopRun = (force) => this.#scheduler.stop(force);
    followForPush(this.#ctx);
  }

  on(listener: EventListener): void {
    this.#ctx.on(listener);
  }

  /** Graceful first (no new starts, agents stopped, queued merges finish); `force` also abandons merges. */
  stop(force: boolean): void {
    if (force) this.#baseAbort.abort();
    this.#scheduler.stop(force);
  }

  /** Something outside the engine the run cannot go on past (a shard's claim taken over): the run's error, and it stops. */
  stopOnFatal(message: string): void {
    this.#ctx.stopOnFatal(message);
  }

  /** `swarm stop TASK`: see Scheduler.stopTask. Returns what happens, or why not. */
  stopTask(id: string): Result<string, string> {
    return this.#scheduler.stopTask(id);
  }

  /** `swarm retry TASK`: see Scheduler.retryTask. Returns what happens, or why not. */
  retryTask(id: string): Result<string, string> {
    return this.#scheduler.retryTask(id);
  }

  /** Runs (or resumes) the graph. An error value means bad input (exit 2); task failures are in the summary. */
  async run(): Promise<Result<RunSummary, string>> {
    const ctx = this.#ctx;
    const { spec } = ctx;
    const { store, git } = ctx.o;
    const startedAt = ctx.now();

    const previous = store.getRun(spec.name);
    // The CLI claims the run first (runner-lock.ts); this is the second line of defence.
    if (previous?.status === 'running' && previous.pid !== ctx.pid && previous.host === ctx.host && processAlive(previous.pid, previous.pidStart)) {
      return err(`the run "${spec.name}" is already running (pid ${previous.pid}); wait for it or stop it first`);
    }
    let baseSha: string;
    try {
      // Resolved again at every run: a base that moved since (a fix on main) is merged in below.
      const now = await git.resolve(spec.base).catch((e: unknown) => (previous ? previous.baseSha : Promise.reject(e)));
      ctx.head = await git.ensureIntegrationBranch(spec.into, previous?.baseSha ?? now, spec.name);
      baseSha = now;
    } catch (error) {
      return err(messageOf(error));
    }
    await readRecord(ctx);

    const hashes = new Map(spec.tasks.map((t) => [t.id, taskHash(spec, t)]));
    const prevTasks = new Map<string, TaskRecord>(previous ? store.getTasks(spec.name).map((r) => [r.task, r]) : []);
    this.#dropped = droppedTasks(spec, prevTasks);
    const moved = await checkIntegrationHead(ctx, previous, prevTasks);
    if (moved !== undefined) return err(moved);
    const fromGit = await foldIntoPrevious(ctx, prevTasks, previous !== undefined);
    const { plan, mergeReady, crashed } = await resume(ctx, previous, prevTasks, hashes);

    for (const t of spec.tasks) {
      const rec = prevTasks.get(t.id);
      ctx.live.set(t.id, {
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
    if (previous && [...ctx.selected].every((id) => plan.keepMerged.has(id))) {
      const done = this.#nothingToDo(previous, baseSha, plan.recoveredMerges);
      await publishEnd(ctx);
      return ctx.fatal === undefined ? done : err(ctx.fatal);
    }
    const base = await mergeBase(ctx, baseSha, this.#baseAbort.signal);
    if (base.kind === 'moved') return err(await describeForeignMove(ctx, ctx.head, base.actual));
    if (base.kind === 'failed') return err(base.message);
    ctx.costUsd = previous?.costUsd ?? 0;
    store.saveRun(
      {
        name: spec.name,
        file: spec.file,
        into: spec.into,
        baseSha,
        status: 'running',
        pid: ctx.pid,
        ...ctx.runner(),
        host: ctx.host,
        startedAt,
        costUsd: ctx.costUsd,
      },
      spec.tasks.map((t) => ({ task: t.id, hash: hashes.get(t.id)!, state: ctx.live.get(t.id)!.state })),
    );
    store.setIntegrationHead(spec.name, ctx.head);
    storeFolded(ctx, prevTasks, fromGit);
    this.#emitStarted(baseSha, previous !== undefined || fromGit.length > 0);
    if (previous && plan.keepMerged.size > 0) ctx.log('info', `resuming: ${plan.keepMerged.size} task(s) already merged stay merged`);
    if (ctx.shard) await this.#startShard();

    await this.#scheduler.run();
    // An agent (or anyone) may have moved the branch after the last merge: say so now, not at the next run.
    if (ctx.fatal === undefined) {
      const now = await git.integrationHead(spec.into).catch(() => undefined);
      if (now !== undefined && now !== ctx.head) ctx.fatal = await describeForeignMove(ctx, ctx.head, now);
    }
    await publishEnd(ctx);
    return this.#finish(startedAt);
  }

  #finish(startedAt: number): Result<RunSummary, string> {
    const ctx = this.#ctx;
    const selected = [...ctx.selected];
    const merged = selected.filter((id) => ctx.state(id) === 'merged').length;
    const anyFailed = selected.some((id) => FAILED_STATES.has(ctx.state(id)));
    // A task stopped alone (swarm stop) leaves the run resumable, like a stop of the whole run.
    const anyStopped = selected.some((id) => ctx.state(id) === 'cancelled');
    const outcome: RunOutcome =
      merged === selected.length
        ? 'success'
        : this.#scheduler.usageLimitStop
          ? 'usage-limit'
          : ctx.stopping || (anyStopped && !anyFailed)
            ? 'cancelled'
            : anyFailed
              ? 'failed'
              : ctx.budgetHit
                ? 'budget'
                : 'failed';
    const finishedAt = ctx.now();
    const status = outcome === 'success' ? 'finished' : outcome === 'failed' ? 'failed' : 'cancelled';
    ctx.o.store.setRunStatus(ctx.name, status, { finishedAt, costUsd: ctx.costUsd });
    const total = selected.length;
    const costUsd = ctx.costUsd;
    ctx.emit({ type: 'run', reason: 'finished', run: ctx.name, at: finishedAt, outcome, merged, total, costUsd, durationMs: finishedAt - startedAt });
    if (ctx.fatal !== undefined) return err(ctx.fatal);
    const message = outcome === 'usage-limit' ? { message: this.#scheduler.usageLimitStop } : {};
    return ok({ outcome, merged, total, costUsd, ...message });
  }

  /** With --shard: says what this shard runs, and takes what the remote shows of the others' tasks. */
  async #startShard(): Promise<void> {
    const ctx = this.#ctx;
    const link = ctx.shard!;
    const waits = link.foreign.size === 0 ? '' : `; ${link.foreign.size} task(s) of other shards it depends on are awaited on ${link.remote}`;
    ctx.log('info', `shard ${link.label}: ${ctx.selected.size} of the run's ${ctx.spec.tasks.length} tasks run here${waits}`);
    await link.applyRemote();
  }

  /** The run's first event: every task with the state it starts (or resumes) in. */
  #emitStarted(baseSha: string, resumed: boolean): void {
    const ctx = this.#ctx;
    // With --shard: this shard's tasks and the other shards' it waits on, not the whole file.
    const shown = ctx.shard ? ctx.spec.tasks.filter((t) => ctx.selected.has(t.id) || ctx.shard!.foreign.has(t.id)) : ctx.spec.tasks;
    const tasks: TaskInfo[] = shown.map((t) => ({
      id: t.id,
      title: t.title,
      dependsOn: t.dependsOn,
      files: t.files,
      state: ctx.live.get(t.id)!.state,
      ...(t.template === undefined ? {} : { template: t.template.id, match: t.template.matches[0]! }),
    }));
    const { into } = ctx.spec;
    ctx.emit({
      type: 'run',
      reason: 'started',
      run: ctx.name,
      at: ctx.now(),
      into,
      base: baseSha,
      head: ctx.head,
      concurrency: ctx.o.concurrency,
      resumed,
      tasks,
    });
    for (const id of this.#dropped) ctx.log('info', droppedText(id));
  }

  /** Every selected task is merged already: say so, and change nothing. */
  #nothingToDo(previous: RunRecord, baseSha: string, recovered: readonly string[]): Result<RunSummary, string> {
    const ctx = this.#ctx;
    const { spec } = ctx;
    const total = ctx.selected.size;
    if (previous.status !== 'finished' || recovered.length > 0 || this.#dropped.length > 0) {
      ctx.o.store.saveRun(
        { ...withoutRunner(previous), status: 'finished', pid: ctx.pid, ...ctx.runner(), host: ctx.host, finishedAt: ctx.now() },
        spec.tasks.map((t) => ({ task: t.id, hash: taskHash(spec, t), state: ctx.live.get(t.id)!.state })),
      );
    }
    this.#emitStarted(baseSha, true);
    ctx.log('info', `nothing to do: all ${total} task${total === 1 ? '' : 's'} merged on ${spec.into}`);
    const costUsd = previous.costUsd;
    ctx.emit({ type: 'run', reason: 'finished', run: spec.name, at: ctx.now(), outcome: 'success', merged: total, total, costUsd, durationMs: 0 });
    return ok({ outcome: 'success', merged: total, total, costUsd });
  }
}

function withoutRunner(run: RunRecord): RunRecord {
  const { pidStart: _previous, ...rest } = run;
  return rest;
}

/** Prompts and attempt logs as files in `dir` (`.swarm/logs/<run>`): `<task>.<attempt>.prompt.md` and `<task>.<attempt>.jsonl`. */
export function fileLogSink(dir: string): LogSink {
  const logFile = (task: string, attempt: number) => join(dir, `${task}.${attempt}.jsonl`);
  return {
    writePrompt(task, attempt, prompt) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${task}.${attempt}.prompt.md`);
      writeFileSync(file, prompt);
      return file;
    },
    logFile,
    append(task, attempt, entry) {
      try {
        appendFileSync(logFile(task, attempt), `${JSON.stringify(entry)}\n`);
      } catch {
        /* the log is best effort; the events carry the essentials */
      }
    },
  };
}
