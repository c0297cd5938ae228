import { existsSync } from 'node:fs';
import type { RunRecord, TaskRecord } from './ports.js';
import { setAsideRedefined } from './redefined.js';
import { INTERRUPTED_STATES, MERGE_READY_STATES, planResume, type ResumePlan } from './resume.js';
import { messageOf, type RunContext } from './run-context.js';

/**
 * What a run starts from when state.db knows an earlier runner of it: the integration
 * branch checked against where swarm left it, the leftovers of a crashed runner put right,
 * and which tasks stay merged, run again, or go straight to the merge queue.
 *
 * Invariants: a task counts as merged only when its work is on the integration branch and
 * the record of it is swarm's own merge of that task; a branch holding commits of its own is
 * never deleted (it is renamed aside); nothing a crashed agent left uncommitted is lost.
 */
export interface Resumed {
  readonly plan: ResumePlan;
  /** Tasks that had passed their check and whose branch is still there: straight to the merge queue. */
  readonly mergeReady: ReadonlySet<string>;
  readonly crashed: boolean;
}

/** Returns an error message when the integration branch moved outside swarm and the user did not accept it. */
export async function checkIntegrationHead(ctx: RunContext, previous: RunRecord | undefined, prevTasks: Map<string, TaskRecord>): Promise<string | undefined> {
  const expected = previous?.headSha === undefined ? undefined : reconcileMergeIntent(ctx, previous.headSha, prevTasks);
  if (expected === undefined || expected === ctx.head || (await isBaseMergeOn(ctx, expected))) return undefined;
  const moved = await describeForeignMove(ctx, expected, ctx.head);
  if (!ctx.o.acceptMovedBranch) return moved;
  ctx.log('warning', `the integration branch ${ctx.spec.into} was moved outside swarm, to ${ctx.head.slice(0, 12)}; accepted (--accept-branch)`);
  return undefined;
}

export async function resume(
  ctx: RunContext,
  previous: RunRecord | undefined,
  prevTasks: ReadonlyMap<string, TaskRecord>,
  hashes: ReadonlyMap<string, string>,
): Promise<Resumed> {
  const { git } = ctx.o;
  const into = ctx.spec.into;
  const crashed = previous?.status === 'running';
  if (previous) await recoverLeftovers(ctx, previous, crashed, prevTasks);
  const inIntegration = new Set<string>();
  for (const [id, rec] of prevTasks) {
    if (await workIsIn(ctx, rec)) inIntegration.add(id);
  }
  const plan = planResume(ctx.o.graph, hashes, prevTasks, inIntegration);
  for (const id of plan.changed) ctx.log('info', `task ${id} changed since it ran: it runs again, with everything downstream of it`);
  for (const id of plan.lostMerges) ctx.log('warning', `task ${id} was merged before but its work is not on ${into}: it runs again`);
  for (const id of plan.recoveredMerges)
    ctx.log('info', `task ${id} was merged into ${into} just before the runner stopped: recorded merged, not merged again`);
  for (const id of plan.recoveredMerges) {
    const wt = prevTasks.get(id)!.worktree;
    if (wt && !ctx.o.keepWorktrees) await git.removeWorktree(wt).catch((e: unknown) => ctx.log('warning', `task ${id}: worktree kept: ${messageOf(e)}`));
  }
  // Straight to the merge queue only with the branch that passed the check; if it is gone (cleaned), the agent runs again.
  const mergeReady = new Set<string>();
  for (const id of plan.mergeReady) {
    const branch = prevTasks.get(id)?.branch;
    if (branch && (await git.resolve(`refs/heads/${branch}`).then(yes, no))) mergeReady.add(id);
  }
  for (const id of mergeReady) ctx.log('info', `task ${id} had passed its check before the runner stopped: it goes straight to the merge queue`);
  // A merged task that runs again starts over from the integration head, on a fresh branch.
  for (const id of [...plan.changed, ...plan.downstreamOfChange]) {
    const rec = prevTasks.get(id);
    if (rec?.state === 'merged' && rec.branch && inIntegration.has(id)) await git.deleteBranch(rec.branch).catch(() => undefined);
  }
  await setAsideChanged(ctx, [...plan.changed, ...plan.downstreamOfChange], prevTasks);
  await setAsideRedefined(ctx, prevTasks, hashes);
  return { plan, mergeReady, crashed };
}

/**
 * The branch is one commit past where swarm left it, and that commit is this run's merge of
 * a moved base (the runner died between landing it and recording it): not a foreign move.
 */
async function isBaseMergeOn(ctx: RunContext, expected: string): Promise<boolean> {
  if (!ctx.record.some((e) => e.landed === ctx.head && e.base !== undefined)) return false;
  return (await ctx.o.git.resolve(`${ctx.head}^1`).catch(() => undefined)) === expected;
}

/**
 * A merge whose runner died between its write-ahead record and its end: the branch at the
 * recorded merge means it landed (the branch moves only after merge.check passed), at the
 * recorded base that it did not. Returns where swarm last left the branch.
 */
function reconcileMergeIntent(ctx: RunContext, head: string, prevTasks: Map<string, TaskRecord>): string {
  const { store } = ctx.o;
  for (const [id, rec] of prevTasks) {
    if (rec.state !== 'merging' || rec.mergeBase === undefined || rec.mergedSha === undefined) continue;
    if (ctx.head === rec.mergedSha) {
      store.updateTask(ctx.name, id, { mergeBase: undefined });
      prevTasks.set(id, { ...rec, state: 'merged', mergeBase: undefined });
      ctx.log('info', `task ${id}: its merge ${rec.mergedSha.slice(0, 12)} had landed, checked, just before the runner stopped`);
      return rec.mergedSha;
    }
    store.updateTask(ctx.name, id, { mergeBase: undefined, mergedSha: undefined });
    prevTasks.set(id, { ...rec, mergeBase: undefined, mergedSha: undefined });
    if (ctx.head === rec.mergeBase) ctx.log('info', `task ${id}: its merge had not landed when the runner stopped; it is merged again`);
  }
  return head;
}

/** What to tell the user when the integration branch is not where swarm left it. */
export async function describeForeignMove(ctx: RunContext, expected: string, actual: string): Promise<string> {
  const into = ctx.spec.into;
  const foreign = await ctx.o.git.commitsBetween(expected, actual).catch(() => []);
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
 * Puts right what an earlier runner of this run left: its leases, and when it crashed
 * (status still `running`, pid gone), its orphaned agents, its open attempts, and the
 * work its agents had not committed yet, which goes onto each task's branch before
 * anything else happens to the worktree.
 */
async function recoverLeftovers(ctx: RunContext, previous: RunRecord, crashed: boolean, prevTasks: ReadonlyMap<string, TaskRecord>): Promise<void> {
  const { store, git } = ctx.o;
  const name = ctx.name;
  const freed = store.releaseRunLeases(name);
  if (!crashed) return;
  ctx.log('warning', `the run ${name} was interrupted (its runner, pid ${previous.pid} on ${previous.host}, is gone): recovering it`);
  if (freed > 0) ctx.log('info', `released ${freed} lease${freed === 1 ? '' : 's'} the interrupted runner held`);
  if (previous.host === ctx.host && ctx.o.reapOrphans) {
    const stopped = await ctx.o.reapOrphans(previous.pid).catch(() => 0);
    if (stopped > 0) ctx.log('info', `stopped ${stopped} agent process${stopped === 1 ? '' : 'es'} the interrupted runner left behind`);
  }
  store.interruptOpenAttempts(name, ctx.now());
  // A merged task's worktree the runner had not removed yet, or had parked for reuse (a
  // pool lives in memory and died with it): clean ones go, as after any merge.
  if (!ctx.o.keepWorktrees) {
    for (const rec of prevTasks.values()) {
      if (rec.state !== 'merged' || !rec.worktree || !existsSync(rec.worktree)) continue;
      await git.removeWorktree(rec.worktree).catch((e: unknown) => ctx.log('warning', `task ${rec.task}: worktree kept: ${messageOf(e)}`));
    }
  }
  for (const rec of [...prevTasks.values()].sort((a, b) => a.task.localeCompare(b.task))) {
    if (!INTERRUPTED_STATES.has(rec.state) || !rec.worktree || !existsSync(rec.worktree)) continue;
    try {
      const sha = await git.commitAll(rec.worktree, `swarm(${rec.task}): work left by an interrupted attempt`, { noVerify: true });
      if (sha) ctx.log('info', `task ${rec.task}: committed what its interrupted agent left (${sha.slice(0, 10)}) on ${rec.branch ?? 'its branch'}`);
    } catch (error) {
      ctx.log(
        'warning',
        `task ${rec.task}: could not commit what its interrupted agent left in ${rec.worktree}; the worktree is kept as it is: ${messageOf(error)}`,
      );
    }
  }
}

/**
 * Any other task that runs again because its definition (or one upstream) changed starts
 * over on a fresh branch from the integration head, like a merged one: its old branch
 * holds work done for the old definition, which its agent would otherwise find in its
 * worktree and build on, or do a second time. That branch is renamed, never deleted
 * while it holds commits of its own, and the log says where it went.
 */
async function setAsideChanged(ctx: RunContext, ids: readonly string[], prevTasks: ReadonlyMap<string, TaskRecord>): Promise<void> {
  const { git } = ctx.o;
  for (const id of [...ids].sort()) {
    const rec = prevTasks.get(id);
    const tip = rec?.branch ? await git.resolve(`refs/heads/${rec.branch}`).catch(() => undefined) : undefined;
    if (!rec?.branch || tip === undefined) continue;
    try {
      if (rec.worktree && existsSync(rec.worktree)) await git.removeWorktree(rec.worktree);
      const own = await git.branchCommits(ctx.head, `refs/heads/${rec.branch}`);
      if (own.length === 0) {
        await git.deleteBranch(rec.branch);
        continue;
      }
      const kept = `swarm-replaced/${ctx.name}/${id}-${tip.slice(0, 12)}`;
      await git.renameBranch(rec.branch, kept);
      ctx.log(
        'warning',
        `task ${id} runs again on a fresh branch from ${ctx.spec.into}; the ${own.length} commit${own.length === 1 ? '' : 's'} of its old branch ${rec.branch} stay on branch ${kept} (as if by \`git branch ${kept} ${tip}\`)`,
      );
    } catch (error) {
      ctx.log('warning', `task ${id}: its old branch ${rec.branch} could not be set aside (${messageOf(error)}); it runs again on that branch`);
    }
  }
}

/**
 * Whether a task's work is on the integration branch. For a merged task, its recorded
 * merge commit (its branch may have been cleaned since) or its branch. For one the store
 * still has queued or merging, only a branch with commits of its own counts: an empty
 * branch is trivially an ancestor.
 */
async function workIsIn(ctx: RunContext, rec: TaskRecord): Promise<boolean> {
  const { git } = ctx.o;
  const into = ctx.spec.into;
  try {
    if (rec.state === 'merged') {
      // The recorded merge counts only if it is swarm's merge of this task: a record an
      // unsandboxed agent rewrote (merged, at some old commit) must not skip the task.
      if (rec.mergedSha && (await git.isAncestor(rec.mergedSha, into)) && (await isMergeOf(ctx, rec.task, rec.mergedSha))) return true;
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
async function isMergeOf(ctx: RunContext, task: string, sha: string): Promise<boolean> {
  // The run record's trailer says so (a rebase's last commit keeps the agent's subject).
  if (ctx.recorded.get(task)?.landed === sha) return true;
  const [commit] = await ctx.o.git.commitsBetween(`${sha}^`, sha).catch(() => []);
  return commit !== undefined && commit.sha === sha && commit.subject.startsWith(`swarm(${task}):`);
}

const yes = () => true;
const no = () => false;
