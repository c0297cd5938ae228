import type { PublishCallbacks } from './publish.js';
import { taskHash } from './resume.js';
import type { RunContext } from './run-context.js';
import { TERMINAL_STATES } from './task-state.js';

/**
 * With `--push`, what the run's events mean for the remote (publish.ts): a task that ends
 * failed or conflicted leaves a failed record there, one that merges takes it away, and
 * the branches of tasks at work go out at the push interval. Read from the event stream,
 * so the scheduler and the merge queue need not know.
 */
export function followForPush(ctx: RunContext): void {
  const publish = ctx.o.publish;
  if (!publish) return;
  const on: PublishCallbacks = { refused: (m) => ctx.stopOnFatal(m), warn: (m) => ctx.log('warning', m) };
  // Tasks whose agent has run in this invocation and that have not ended: their branch may gain commits.
  const working = new Set<string>();
  const now = () => ({ head: ctx.head, tasks: [...working].sort() });
  ctx.on((e) => {
    if (e.type === 'merge' && e.reason === 'merged') publish.taskMerged(e.task, e.commit);
    if (e.type !== 'task' || e.reason !== 'state') return;
    // With --shard, another shard's task (seen merged or failed on the remote) is that shard's to record.
    if (!ctx.selected.has(e.task)) return;
    if (e.to === 'running' || e.to === 'resolving') {
      working.add(e.task);
      publish.follow(now, on);
    } else if (TERMINAL_STATES.has(e.to)) {
      working.delete(e.task);
    }
    if (e.to === 'failed' || e.to === 'conflicted') {
      const task = ctx.tasks.get(e.task)!;
      const shard = ctx.shard === undefined ? {} : { shard: ctx.shard.label };
      publish.taskFailed({ task: e.task, state: e.to, detail: e.detail ?? '', hash: taskHash(ctx.spec, task), ...shard }, ctx.head, on);
    }
  });
}
