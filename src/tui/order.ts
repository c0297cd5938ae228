import type { TaskState } from '../engine/task-state.js';
import { ACTIVE_STATES, FAILED_STATES } from '../engine/task-state.js';
import { unreachable } from '../util/result.js';
import type { TaskView } from './view-model.js';

/**
 * Where a state's tasks sit in the table: work in progress first, then what needs a look,
 * then what is still to come, and finished work last, so that on a 200-task run the
 * rows that move are the rows on screen.
 */
export function stateRank(state: TaskState): number {
  switch (state) {
    case 'starting':
    case 'running':
    case 'checking':
    case 'resolving':
      return 0;
    case 'merging':
    case 'queued':
      return 1;
    case 'failed':
    case 'conflicted':
      return 2;
    case 'waiting':
    case 'ready':
      return 3;
    case 'pending':
      return 4;
    case 'blocked':
      return 5;
    case 'cancelled':
      return 6;
    case 'merged':
      return 7;
    default:
      return unreachable(state);
  }
}

/** `f`'s filter: the tasks that are working or went wrong. */
export function isFailedOrRunning(task: TaskView): boolean {
  return ACTIVE_STATES.has(task.state) || FAILED_STATES.has(task.state) || task.state === 'merging';
}

/** The table's rows: grouped by state, in the file's order within a group. */
export function visibleTasks(tasks: readonly TaskView[], filter: boolean): TaskView[] {
  const rows = tasks.map((task, index) => ({ task, index })).filter(({ task }) => !filter || isFailedOrRunning(task));
  rows.sort((a, b) => stateRank(a.task.state) - stateRank(b.task.state) || a.index - b.index);
  return rows.map(({ task }) => task);
}
