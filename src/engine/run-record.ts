import { type BaseMerge, mergeMovedBase } from './moved-base.js';
import type { TaskRecord } from './ports.js';
import { foldRecord, recordedMerges } from './record.js';
import type { RunContext } from './run-context.js';

/**
 * The engine's side of the run record in git (record.ts) and of `--push` (publish.ts): the
 * few steps `Engine.run` takes at its start and its end, kept here so the run reads as a list.
 */

/** Reads the record on the integration branch into the context (nothing with `--fresh`). */
export async function readRecord(ctx: RunContext): Promise<void> {
  const { git } = ctx.o;
  if (ctx.o.ignoreRecord || !git.readRecord) return;
  ctx.record = await git.readRecord(ctx.spec.into, ctx.name).catch(() => []);
  ctx.recorded = recordedMerges(ctx.record, ctx.name);
}

/**
 * Folds the record into what state.db knows (`prevTasks`, changed in place) and says what
 * it took from git; returns those tasks, whose rows the caller writes once the run is saved.
 */
export async function foldIntoPrevious(ctx: RunContext, prevTasks: Map<string, TaskRecord>, hadState: boolean): Promise<string[]> {
  const { git } = ctx.o;
  const mergedAgain = new Set<string>();
  for (const [id, r] of ctx.recorded) {
    const known = prevTasks.get(id)?.mergedSha;
    if (known !== undefined && known !== r.landed && (await git.contains?.(known, r.landed))) mergedAgain.add(id);
  }
  const branchOf = (id: string) => git.taskBranch?.(ctx.name, id) ?? `swarm-task/${ctx.name}/${id}`;
  const taken = foldRecord(ctx.name, prevTasks, ctx.recorded, new Set(ctx.tasks.keys()), branchOf, mergedAgain);
  if (taken.length > 0) {
    const why = hadState ? 'state.db did not know' : 'this clone has no state.db for';
    ctx.log('info', `the run record on ${ctx.spec.into} shows ${taken.join(', ')} merged, which ${why}: rebuilt from git`);
  }
  return taken;
}

/** Writes the rows of the tasks taken from git into the saved run. */
export function storeFolded(ctx: RunContext, prevTasks: ReadonlyMap<string, TaskRecord>, taken: readonly string[]): void {
  for (const id of taken) {
    const rec = prevTasks.get(id)!;
    ctx.o.store.updateTask(ctx.name, id, { mergedSha: rec.mergedSha, branch: rec.branch, attempts: rec.attempts });
  }
}

/**
 * A moved base merged in before any task starts (moved-base.ts); moves `ctx.head` when it
 * lands. With --shard, every shard may try at once: each looks at the remote's head first
 * (the base may be there already), and a merge another shard's push beat is tried again.
 */
export async function mergeBase(ctx: RunContext, baseSha: string, signal: AbortSignal): Promise<BaseMerge> {
  const { git, shell } = ctx.o;
  const shard = ctx.shard;
  const log = (m: string) => ctx.log('info', m);
  for (let round = 1; ; round++) {
    if (shard) {
      const synced = await shard.syncHead();
      if (synced.kind === 'diverged' || (synced.kind === 'unreachable' && round >= 8)) return { kind: 'failed', message: synced.message };
    }
    const push = shard ? (commit: string) => shard.push(commit) : undefined;
    const merged = await mergeMovedBase({ spec: ctx.spec, git, shell, env: ctx.env, signal, log, ...(push ? { push } : {}) }, baseSha, ctx.head);
    if (merged.kind === 'merged') ctx.head = merged.head;
    if (merged.kind !== 'raced') return merged;
    if (round >= 12 || signal.aborted)
      return { kind: 'failed', message: `--shard: the merge of the base was refused by the remote ${round} times: ${merged.detail}` };
    await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** round) * (0.5 + Math.random())));
  }
}

/** With --push: the integration branch and unmerged tasks' work go out, merged tasks' failed records go; a refusal becomes the run's error. */
export async function publishEnd(ctx: RunContext): Promise<void> {
  const publish = ctx.o.publish;
  if (!publish) return;
  const selected = [...ctx.selected];
  const unmerged = selected.filter((id) => ctx.state(id) !== 'merged');
  const merged = selected.filter((id) => ctx.state(id) === 'merged');
  const refused = await publish.finish(ctx.fatal === undefined ? ctx.head : undefined, unmerged, merged);
  if (refused === undefined) return;
  ctx.fatal ??= refused;
  ctx.log('warning', refused);
}
