import { existsSync } from 'node:fs';
import type { TaskRecord } from './ports.js';
import { messageOf, type RunContext } from './run-context.js';

/**
 * A fresh clone (state.db knows no attempt of the task) finds a task branch that `--push`
 * brought from the remote. It holds the work of a failed attempt, done for the task as it
 * was defined then; the task's failed record there (src/git/failed-record.ts) names that
 * definition's hash. When the task has been redefined since, its branch is set aside (as
 * recover.ts does when state.db knows of the change) and the task starts over from the
 * integration head: its agent would otherwise build on work done for another prompt.
 * A branch with no record (pushed mid-attempt by a runner that was killed) is continued, and
 * so is one that no longer holds the failed attempt's work (a runner started it over for the
 * new definition, pushed it, and was killed before the task merged: the record is older).
 */
export async function setAsideRedefined(ctx: RunContext, prevTasks: ReadonlyMap<string, TaskRecord>, hashes: ReadonlyMap<string, string>): Promise<void> {
  const { git, publish } = ctx.o;
  // Only with --push: then the records were just fetched and mirror the remote's.
  if (!publish || !git.readFailedRecords) return;
  const records = await git.readFailedRecords(ctx.name).catch(() => new Map<string, { hash: string; parent: string }>());
  for (const [id, record] of [...records].sort(([a], [b]) => a.localeCompare(b))) {
    const prev = prevTasks.get(id);
    if (!ctx.tasks.has(id) || (prev !== undefined && prev.attempts > 0) || record.hash === hashes.get(id)) continue;
    const branch = prev?.branch ?? git.taskBranch?.(ctx.name, id) ?? `swarm-task/${ctx.name}/${id}`;
    const tip = await git.resolve(`refs/heads/${branch}`).catch(() => undefined);
    if (tip === undefined || !(await holdsFailedWork(ctx, record.parent, tip))) continue;
    try {
      if (prev?.worktree && existsSync(prev.worktree)) await git.removeWorktree(prev.worktree);
      const own = await git.branchCommits(ctx.head, `refs/heads/${branch}`);
      let kept = '';
      if (own.length === 0) {
        await git.deleteBranch(branch);
      } else {
        const aside = `swarm-replaced/${ctx.name}/${id}-${tip.slice(0, 12)}`;
        await git.renameBranch(branch, aside);
        kept = ` (its old branch stays here as ${aside})`;
      }
      ctx.log('info', `task ${id} was redefined since its failed attempt on ${publish.remote}: starting over${kept}`);
    } catch (error) {
      ctx.log(
        'warning',
        `task ${id} was redefined since its failed attempt on ${publish.remote}, but its branch ${branch} could not be set aside (${messageOf(error)}); it continues that branch`,
      );
    }
  }
}

/** Whether the branch at `tip` holds the failed attempt's own work: the record's parent, beyond the integration head. */
async function holdsFailedWork(ctx: RunContext, parent: string, tip: string): Promise<boolean> {
  const contains = ctx.o.git.contains?.bind(ctx.o.git);
  if (!contains) return true;
  return (await contains(parent, tip)) && !(await contains(parent, ctx.head));
}
