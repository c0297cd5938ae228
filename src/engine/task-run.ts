// Over 400 lines: one task's whole life up to the merge queue, around its one attempt loop;
// the text it writes lives in failure-text.ts and prompt.ts, the usage-limit policy in usage-limit.ts.
import { catchUp } from './continue-branch.js';
import { RESUMABLE_KINDS, type TaskSpec } from '../config/spec.js';
import type { SwarmEvent } from './events.js';
import { elidedText } from './output-budget.js';
import type { AgentOutput, AgentResult, AgentRunner, AttemptFindings, BranchCommit } from './ports.js';
import { buildFollowUp, buildPrompt, type RetryContext, withHeldCommits } from './prompt.js';
import { withInbox } from './steer-prompt.js';
import { interruptedFollowUp } from './resume.js';
import { describeAgentFailure, failureDetail } from './failure-text.js';
import { type Live, messageOf, newController, type RunContext } from './run-context.js';
import { usageResetFollowUp } from './usage-limit.js';

/** How one piece of a task's life ended; the scheduler acts on it. */
export type TaskOutcome =
  /** The run stopped (or ran out of budget) before the task took its slot. */
  | { readonly kind: 'skipped' }
  /** Its files are leased by someone else; it holds no slot while it waits. */
  | { readonly kind: 'waiting' }
  /** Checked and audited: to the merge queue. */
  | { readonly kind: 'queued'; readonly detail?: string }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'conflicted'; readonly detail: string }
  /** Stopped (by the user, a refused login, or a lost lease: `Live.leaseLost` says which). */
  | { readonly kind: 'cancelled' };

/** Where an attempt loop begins: a new task, or the agent resolving a merge conflict in its worktree. */
type Entry = { readonly kind: 'fresh' } | { readonly kind: 'resolve'; readonly files: readonly string[] };

/** What a task run needs of the scheduler: to hear of rate limits and refused logins at once. */
export interface TaskRunHooks {
  onApiRetry(): void;
  onAuthRefused(id: string, why: string | undefined): void;
  /** The account's usage limit: resolves true once it reset (the agent goes on), false when the run stops instead. */
  onUsageLimit(id: string, resetsAt: number | undefined): Promise<boolean>;
}

/**
 * One task's life up to the merge queue: its lease, worktree, setup, and ONE attempt loop
 * (agent, commit, check, audit; retried up to `retries`), entered fresh or to resolve a
 * merge conflict. Owns the task's live state; changes it only through the context's
 * `transition`; returns how it ended instead of deciding what happens next.
 */
export class TaskRun {
  readonly #ctx: RunContext;
  readonly #id: string;
  readonly #task: TaskSpec;
  readonly #live: Live;
  readonly #hooks: TaskRunHooks;

  constructor(ctx: RunContext, id: string, hooks: TaskRunHooks) {
    this.#ctx = ctx;
    this.#id = id;
    this.#task = ctx.tasks.get(id)!;
    this.#live = ctx.live.get(id)!;
    this.#hooks = hooks;
  }

  /** Takes the lease, makes the worktree, runs setup and the attempts. */
  async start(): Promise<TaskOutcome> {
    const ctx = this.#ctx;
    // Re-checked after the wait for a slot: the run may be stopping or out of budget, the task
    // stopped (swarm stop), or already started by a second job (stopped, then retried).
    const state = this.#live.state;
    if (ctx.stopping || ctx.budgetHit || (state !== 'ready' && state !== 'waiting')) return { kind: 'skipped' };
    if (!this.#acquire()) return { kind: 'waiting' };
    const { git } = ctx.o;
    const id = this.#id;
    const live = this.#live;
    ctx.transition(id, 'starting', { startedAt: ctx.now() });
    // Where swarm left the integration branch, not wherever its ref points now.
    const wt = await git.createWorktree(ctx.name, id, ctx.head);
    if (!wt.ok) return { kind: 'failed', detail: `could not create the worktree: ${wt.error}` };
    Object.assign(live, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha, auditBase: wt.value.startSha });
    ctx.o.store.updateTask(ctx.name, id, { worktree: wt.value.path, branch: wt.value.branch, startSha: wt.value.startSha });
    // A conflict resolution left unfinished (it failed, or its runner died) is undone: an agent
    // not asked to resolve it would otherwise conclude that merge with whatever it wrote,
    // dropping the integration's side. The merge raises the conflict again.
    if (await git.abortTaskMerge(wt.value.path)) {
      ctx.log(
        'warning',
        `task ${id}: undid the unfinished merge of ${ctx.spec.into} in its worktree (a conflict resolution that did not finish); the conflict comes back at its merge`,
      );
    }
    if (!live.mergeReady && wt.value.startSha !== ctx.head) await catchUp(ctx, id, live, ctx.head);
    if (live.mergeReady) {
      live.mergeReady = false;
      await this.#commitLeftovers();
      // Audited again: whatever reached the branch while no runner watched it is judged too.
      const audit = await this.#audit();
      if (audit) return { kind: 'failed', detail: audit.kind === 'refused' ? audit.detail : failureDetail(audit) };
      return { kind: 'queued', detail: 'passed its check before the runner stopped: merging without running its agent again' };
    }
    const setup = this.#task.setup ?? ctx.spec.setup;
    live.controller = newController(live);
    if (setup) {
      const res = await ctx.shell(id, 'setup', setup, { cwd: live.worktree!, signal: live.controller.signal, timeoutMs: this.#task.timeoutMs });
      if (res.cancelled || ctx.stopping) return { kind: 'cancelled' };
      if (res.exitCode !== 0) return { kind: 'failed', detail: `setup \`${setup}\` failed (exit ${res.exitCode ?? res.signal})` };
    }
    return this.#attempts({ kind: 'fresh' });
  }

  /**
   * Its merge conflicted: merges the integration head into the task branch and, when that
   * leaves conflict markers, has the agent resolve them. The audit's base moves to that head:
   * what the integration side brought is not the task's change.
   */
  async resolve(): Promise<TaskOutcome> {
    const ctx = this.#ctx;
    const head = ctx.head;
    const { conflicted } = await ctx.o.git.mergeIntegrationIntoTask(this.#live.worktree!, ctx.spec.into, head);
    this.#live.auditBase = head;
    if (conflicted.length === 0) {
      await this.#commitLeftovers();
      const audit = await this.#audit();
      return audit ? { kind: 'failed', detail: audit.kind === 'refused' ? audit.detail : failureDetail(audit) } : { kind: 'queued' };
    }
    // The resolution and what follows are a fresh round of retries.
    this.#live.tries = 0;
    return this.#attempts({ kind: 'resolve', files: conflicted });
  }

  #acquire(): boolean {
    const ctx = this.#ctx;
    const { spec } = ctx;
    const id = this.#id;
    const live = this.#live;
    const acquired = ctx.o.store.acquire({
      holder: `${spec.name}/${id}`,
      run: spec.name,
      task: id,
      globs: this.#task.files,
      pid: ctx.pid,
      ...ctx.runner(),
      host: ctx.host,
      ttlMs: spec.lease.ttlMs,
      reason: this.#task.title,
    });
    if (!acquired.ok) {
      if (live.state !== 'waiting') ctx.transition(id, 'waiting', {}, `waiting for lease held by ${acquired.heldBy.holder}`);
      ctx.emit({ type: 'lease', reason: 'waiting', task: id, heldBy: acquired.heldBy.holder, run: spec.name, at: ctx.now() });
      return false;
    }
    const lease = acquired.lease;
    live.lease = lease;
    ctx.emit({ type: 'lease', reason: 'acquired', task: id, token: lease.token, globs: lease.globs, run: spec.name, at: ctx.now() });
    // Renewed for as long as the task holds it: while it works, waits in the merge queue and resolves conflicts.
    const renew = setInterval(
      () => {
        if (live.lease !== lease) return clearInterval(renew);
        if (!ctx.o.store.renew(lease.id, lease.token, spec.lease.ttlMs)) {
          live.leaseLost = true;
          live.controller?.abort();
        }
      },
      Math.max(1000, spec.lease.ttlMs / 3),
    );
    renew.unref();
    return true;
  }

  /** Agent, commit, check, audit; retried up to `retries`. */
  async #attempts(entry: Entry): Promise<TaskOutcome> {
    const ctx = this.#ctx;
    const { store } = ctx.o;
    const id = this.#id;
    const task = this.#task;
    const live = this.#live;
    let retry: RetryContext | undefined = entry.kind === 'resolve' ? { kind: 'conflict', files: entry.files, into: ctx.spec.into } : undefined;
    let resolving = entry.kind === 'resolve';
    for (;;) {
      live.tries++;
      live.attempt++;
      live.controller = newController(live);
      const attemptStart = ctx.now();
      // A resolution stays `resolving` while its agent works.
      if (resolving) store.updateTask(ctx.name, id, { attempts: live.attempt });
      else ctx.transition(id, 'running', { attempts: live.attempt });
      store.startAttempt(ctx.name, id, live.attempt, { startedAt: attemptStart, logFile: ctx.o.logs.logFile(id, live.attempt) });
      const result = await this.#runAgent(retry);
      if (result.failure === 'auth') this.#hooks.onAuthRefused(id, result.message);
      // Looked at as soon as the agent is gone, not at the next renewal: an agent that deleted
      // its own lease row must not go on to the check and the merge while another holder has its files.
      if (live.lease && !store.isCurrent(live.lease.id, live.lease.token)) live.leaseLost = true;
      await this.#commitLeftovers();
      const end = { costUsd: result.costUsd, turns: result.turns, exitCode: result.exitCode ?? undefined };
      if (live.controller.signal.aborted || ctx.stopping || live.leaseLost) {
        const outcome = live.leaseLost ? 'lease-lost' : result.failure === 'auth' || result.failure === 'usage-limit' ? result.failure : 'cancelled';
        store.finishAttempt(ctx.name, id, live.attempt, { ...end, endedAt: ctx.now(), outcome, sessionId: live.sessionId });
        return { kind: 'cancelled' };
      }
      let failure: RetryContext | undefined;
      if (!result.ok) {
        failure = { kind: 'agent-failed', message: describeAgentFailure(result) };
      } else {
        const check = task.check ?? ctx.spec.check;
        if (check) {
          ctx.transition(id, 'checking');
          const timeoutMs = Math.max(1000, task.timeoutMs - (ctx.now() - attemptStart));
          const res = await ctx.shell(id, 'task', check, { cwd: live.worktree!, signal: live.controller.signal, timeoutMs });
          if (res.cancelled || ctx.stopping) {
            store.finishAttempt(ctx.name, id, live.attempt, { ...end, endedAt: ctx.now(), outcome: 'cancelled', sessionId: live.sessionId });
            return { kind: 'cancelled' };
          }
          if (res.exitCode !== 0) failure = { kind: 'check-failed', command: check, output: res.output };
        }
        if (!failure) {
          const audit = await this.#audit();
          // Not the agent's work to retry: swarm will not judge or merge what HEAD points at.
          if (audit?.kind === 'refused') {
            store.finishAttempt(ctx.name, id, live.attempt, {
              ...end,
              endedAt: ctx.now(),
              outcome: 'tampered',
              sessionId: live.sessionId,
              detail: audit.detail,
            });
            return { kind: 'failed', detail: audit.detail };
          }
          failure = audit;
        }
        if (!failure && live.empty && !task.allowEmpty) failure = { kind: 'empty' };
      }
      store.finishAttempt(ctx.name, id, live.attempt, {
        ...end,
        endedAt: ctx.now(),
        outcome: !result.ok ? (result.failure ?? 'exit') : failure ? failure.kind : 'ok',
        sessionId: live.sessionId,
        detail: failure ? failureDetail(failure) : undefined,
      });
      if (!failure) return { kind: 'queued' };
      // Its committed work outlives this runner: on the remote before the retry starts.
      ctx.o.publish?.taskWork(id, ctx.head, (refused) => ctx.stopOnFatal(refused));
      if (resolving && !result.ok) return { kind: 'conflicted', detail: `the agent could not resolve the conflict: ${failureDetail(failure)}` };
      // A retry would start from what the tampering left, and be judged against it.
      if (live.tries > task.retries || result.failure === 'tampered') {
        const after = entry.kind === 'resolve' ? ' after resolving the conflict' : '';
        return { kind: 'failed', detail: `${failureDetail(failure)}${after}` };
      }
      retry = failure;
      resolving = false;
    }
  }

  async #runAgent(retry: RetryContext | undefined): Promise<AgentResult> {
    const ctx = this.#ctx;
    const id = this.#id;
    const task = this.#task;
    const live = this.#live;
    const runner = ctx.o.agents.get(task.agent.kind);
    if (!runner) return { ok: false, failure: 'spawn', exitCode: null, signal: null, message: `no runner for agent kind ${task.agent.kind}` };
    // After a crash, the first attempt picks the agent's session up where it was cut off.
    const sessions = RESUMABLE_KINDS.has(task.agent.kind);
    const continuing = live.interrupted === true && retry === undefined && sessions && live.sessionId !== undefined;
    live.interrupted = false;
    let resumeSession = (retry || continuing) && sessions ? live.sessionId : undefined;
    const held = await this.#heldCommits();
    let prompt = continuing
      ? withHeldCommits(interruptedFollowUp(), held)
      : resumeSession && retry
        ? buildFollowUp(retry, held)
        : buildPrompt(ctx.spec, task, ctx.depResults(task), retry, held, ctx.peers(id));
    // Messages that came while no agent of the task ran go into its prompt.
    const inbox = ctx.o.inbox?.take(ctx.name, id) ?? [];
    prompt = withInbox(prompt, inbox);
    for (;;) {
      const result = await this.#invokeAgent(runner, prompt, resumeSession);
      // The account's limit, not the task's: wait for its reset within limits.max_wait and
      // go on in the same attempt, resuming the session (no retry spent); else the run stops.
      if (result.failure === 'usage-limit' && !live.controller!.signal.aborted && !ctx.stopping && (await this.#hooks.onUsageLimit(id, result.resetsAt))) {
        resumeSession = sessions ? live.sessionId : undefined;
        prompt = resumeSession ? usageResetFollowUp() : buildPrompt(ctx.spec, task, ctx.depResults(task), retry, held);
        continue;
      }
      if (result.failure !== 'session-missing' || resumeSession === undefined || live.controller!.signal.aborted || ctx.stopping) return result;
      // The session is gone (another HOME, its files deleted): nothing ran, so the same
      // attempt starts a new session with the whole task, once, without spending a retry.
      ctx.log(
        'warning',
        `task ${id}: its agent's session ${resumeSession} could not be resumed (${result.message ?? 'not found'}); attempt ${live.attempt} starts a new session with the full prompt (no retry spent)`,
      );
      live.sessionId = undefined;
      ctx.o.store.updateTask(ctx.name, id, { sessionId: undefined });
      resumeSession = undefined;
      prompt = withInbox(buildPrompt(ctx.spec, task, ctx.depResults(task), retry, held, ctx.peers(id)), inbox);
    }
  }

  /** What the task's branch already holds of its own, for the prompt; nothing when git cannot say. */
  async #heldCommits(): Promise<BranchCommit[]> {
    const live = this.#live;
    if (!live.startSha || !live.branch) return [];
    return this.#ctx.o.git.branchCommits(live.startSha, `refs/heads/${live.branch}`).catch(() => []);
  }

  /** One run of the agent process: its events, its cost, its `exited` event. */
  async #invokeAgent(runner: AgentRunner, prompt: string, resumeSession: string | undefined): Promise<AgentResult> {
    const ctx = this.#ctx;
    const { spec } = ctx;
    const id = this.#id;
    const task = this.#task;
    const live = this.#live;
    const promptFile = ctx.o.logs.writePrompt(id, live.attempt, prompt);
    const enforcement = ctx.o.enforcement?.forTask({ run: spec.name, task, worktree: live.worktree!, lease: live.lease! });
    const wiring = ctx.o.inbox?.wiring(spec.name, this.#id);
    const watch = await ctx.o.enforcement?.watch({ run: spec.name, task, worktree: live.worktree! });
    live.agentStartedAt = ctx.now();
    const base = { type: 'agent' as const, task: id, attempt: live.attempt, run: spec.name };
    const logFile = ctx.o.logs.logFile(id, live.attempt);
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
      env: { ...ctx.env, ...task.env, ...wiring?.env, ...enforcement?.env },
      settingsJson: enforcement?.settingsJson ?? wiring?.settingsJson,
      timeoutMs: task.timeoutMs,
      logFile,
      signal: live.controller!.signal,
      onEvent: (out: AgentOutput) => {
        if (out.reason === 'session') {
          live.sessionId = out.sessionId;
          ctx.o.store.updateTask(spec.name, id, { sessionId: out.sessionId });
        }
        if (out.reason === 'output') {
          // Every line reaches the reporters; state.db keeps a bounded record (see output-budget.ts).
          const event: SwarmEvent = { ...base, reason: 'output', text: ctx.output.clip(out.text), at: ctx.now() };
          if (ctx.output.admit(budgetKey, event.text)) ctx.emit(event);
          else ctx.tell(event);
          return;
        }
        ctx.emit({ ...base, ...out, at: ctx.now() });
        // After the api-retry event, so the stream shows the cause before the lowered limit.
        if (out.reason === 'api-retry') this.#hooks.onApiRetry();
      },
    });
    const elided = ctx.output.takeElided(budgetKey);
    if (elided) ctx.emit({ ...base, reason: 'output', text: elidedText(elided, logFile), at: ctx.now() });
    live.agentMs += ctx.now() - live.agentStartedAt;
    const tampered = watch ? this.#findings(await watch.after()) : [];
    if (result.sessionId) live.sessionId = result.sessionId;
    if (result.message && result.ok) live.summary = result.message;
    const cost = result.costUsd ?? 0;
    ctx.costUsd += cost;
    live.costUsd += cost;
    live.turns += result.turns ?? 0;
    ctx.o.store.updateTask(spec.name, id, { costUsd: live.costUsd, turns: live.turns, sessionId: live.sessionId });
    ctx.emit({
      ...base,
      reason: 'exited',
      ok: result.ok,
      ...(result.failure === 'cancelled' ? { stopped: true } : {}),
      exitCode: result.exitCode,
      signal: result.signal,
      costUsd: result.costUsd,
      turns: result.turns,
      message: result.message,
      at: ctx.now(),
    });
    if (spec.budgetUsd !== undefined && ctx.costUsd >= spec.budgetUsd && !ctx.budgetHit) {
      ctx.budgetHit = true;
      ctx.log(
        'warning',
        `the run has spent $${ctx.costUsd.toFixed(2)} of its budget_usd $${spec.budgetUsd}: no new task starts; running ones finish. Raise budget_usd and run again to go on.`,
      );
    }
    if (tampered.length === 0) return result;
    return { ...result, ok: false, failure: 'tampered', message: `the agent changed what no agent may touch: ${tampered.join(', ')}` };
  }

  /** Emits what the enforcement saw of an attempt; returns the tampering that refuses it (enforce: block). */
  #findings(found: AttemptFindings): readonly string[] {
    const ctx = this.#ctx;
    const run = ctx.name;
    const task = this.#id;
    for (const v of found.violations) ctx.emit({ type: 'lease', reason: 'violation', task, path: v.path, where: v.where, blocked: v.blocked, run, at: v.at });
    const blocked = ctx.spec.lease.enforce === 'block';
    for (const path of found.tampered) ctx.emit({ type: 'lease', reason: 'violation', task, path, where: 'tamper', blocked, run, at: ctx.now() });
    return blocked ? found.tampered : [];
  }

  async #commitLeftovers(): Promise<void> {
    const live = this.#live;
    if (!live.worktree) return;
    try {
      // --no-verify: the user's own pre-commit hook must not make swarm drop an agent's work; the check and the audit judge it.
      await this.#ctx.o.git.commitAll(live.worktree, `swarm(${this.#id}): ${this.#task.title}`, { noVerify: true });
    } catch (error) {
      this.#ctx.log('warning', `task ${this.#id}: could not commit what the agent left: ${messageOf(error)}`);
    }
  }

  /**
   * Pins the task commit (read once, first) and audits exactly that commit: what the merge
   * takes is what was judged here, whatever is committed on the branch afterwards.
   */
  async #audit(): Promise<RetryContext | { kind: 'refused'; detail: string } | undefined> {
    const ctx = this.#ctx;
    const live = this.#live;
    const id = this.#id;
    const head = await ctx.o.git.headOf(live.worktree!);
    if (!head.ok) return { kind: 'refused', detail: head.error };
    const sha = head.value;
    const paths = await ctx.o.git.changedPaths(live.worktree!, live.auditBase!, sha);
    live.empty = paths.length === 0;
    const enforcement = ctx.o.enforcement;
    if (enforcement && ctx.spec.lease.enforce !== 'off') {
      const outside = enforcement.audit(paths, this.#task.files);
      const links = await enforcement.escapingLinks(live.worktree!, live.auditBase!, sha);
      if (outside.length > 0 || links.length > 0) {
        const blocked = ctx.spec.lease.enforce === 'block';
        const at = ctx.now();
        for (const path of outside) ctx.emit({ type: 'lease', reason: 'violation', task: id, path, where: 'audit', blocked, run: ctx.name, at });
        for (const path of links) ctx.emit({ type: 'lease', reason: 'violation', task: id, path, where: 'symlink', blocked, run: ctx.name, at });
        if (blocked) return { kind: 'audit', paths: [...outside, ...links] };
      }
    }
    live.audited = sha;
    return undefined;
  }
}
