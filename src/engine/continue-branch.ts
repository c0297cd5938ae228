import { type Live, messageOf, type RunContext } from './run-context.js';

/**
 * A task that continues a branch of an earlier run (it failed there, or its branch came
 * from the remote) gets the integration head merged in first, so its agent and its check
 * see what merged since (a fix on main, its dependencies' new work), and its audit judges
 * only its own changes. A conflict is left for the merge queue, as before: the merge is
 * undone and the branch continues as it was.
 */
export async function catchUp(ctx: RunContext, id: string, live: Live, head: string): Promise<void> {
  const { git, store } = ctx.o;
  const worktree = live.worktree!;
  try {
    const { conflicted } = await git.mergeIntegrationIntoTask(worktree, ctx.spec.into, head);
    if (conflicted.length > 0) {
      await git.abortTaskMerge(worktree);
      return;
    }
  } catch (error) {
    await git.abortTaskMerge(worktree).catch(() => false);
    ctx.log('warning', `task ${id}: could not merge ${ctx.spec.into} into its branch (${messageOf(error)}); it continues as it was`);
    return;
  }
  Object.assign(live, { startSha: head, auditBase: head });
  store.updateTask(ctx.name, id, { startSha: head });
  ctx.log('info', `task ${id}: continues its branch ${live.branch} from an earlier run, with ${ctx.spec.into} (${head.slice(0, 12)}) merged in`);
}
