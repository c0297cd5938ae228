import { unreachable } from '../../util/result.js';
import type { TaskView } from '../view-model.js';

/**
 * The table's last column: the agent's current action while it works, otherwise what the
 * task is waiting for or why it stopped.
 */
export function actionText(task: TaskView, stateOf: (id: string) => TaskView['state'] | undefined): string {
  switch (task.state) {
    case 'pending': {
      const waitingFor = task.dependsOn.filter((dep) => stateOf(dep) !== 'merged');
      return waitingFor.length === 0 ? 'pending' : `after ${waitingFor.join(', ')}`;
    }
    case 'ready':
      return 'ready';
    case 'waiting':
      return `waiting: ${task.reason ?? 'files leased'}`;
    case 'starting':
      return task.action ?? 'creating worktree';
    case 'running':
      return task.action ?? 'agent starting';
    case 'checking':
      return task.action ?? 'checking';
    case 'resolving':
      return task.action === undefined ? 'resolving merge conflict' : `resolving: ${task.action}`;
    case 'queued':
      return 'queued for merge';
    case 'merging':
      return 'merging';
    case 'merged':
      return 'merged';
    case 'failed':
      return task.reason ?? 'failed';
    case 'conflicted':
      return task.reason ?? 'merge conflict';
    case 'blocked': {
      const failed = task.dependsOn.filter((dep) => {
        const state = stateOf(dep);
        return state === 'failed' || state === 'conflicted' || state === 'blocked';
      });
      return task.reason ?? (failed.length > 0 ? `blocked by ${failed.join(', ')}` : 'blocked');
    }
    case 'cancelled':
      return task.reason ?? 'cancelled';
    default:
      return unreachable(task.state);
  }
}
