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

/**
 * The table's rows: grouped by state, in the file's order within a group. A template's
 * tasks fold into one row named for the template (see `groupRow`), followed by its tasks,
 * ordered the same way, when the template is in `expanded`.
 */
export function visibleTasks(tasks: readonly TaskView[], filter: boolean, expanded: ReadonlySet<string> = NONE): TaskView[] {
  const rows = tasks.map((task, index) => ({ task, index })).filter(({ task }) => !filter || isFailedOrRunning(task));
  const byState = (a: { task: TaskView; index: number }, b: { task: TaskView; index: number }) =>
    stateRank(a.task.state) - stateRank(b.task.state) || a.index - b.index;
  if (!tasks.some((t) => t.template !== undefined)) return rows.sort(byState).map(({ task }) => task);
  const members = new Map<string, { task: TaskView; index: number }[]>();
  const top: { task: TaskView; index: number }[] = [];
  for (const row of rows) {
    const template = row.task.template;
    if (template === undefined) {
      top.push(row);
      continue;
    }
    let list = members.get(template);
    if (list === undefined) {
      members.set(template, (list = []));
      top.push({ task: row.task, index: row.index });
    }
    list.push(row);
  }
  const groups = new Map<string, TaskView>();
  for (const [template, list] of members)
    groups.set(
      template,
      groupRow(
        template,
        list.map((r) => r.task),
        expanded.has(template),
      ),
    );
  const heads = top.map((row) => (row.task.template === undefined ? row : { task: groups.get(row.task.template)!, index: row.index }));
  heads.sort(byState);
  const out: TaskView[] = [];
  for (const { task } of heads) {
    out.push(task);
    if (task.group?.expanded === true)
      out.push(
        ...members
          .get(task.id)!
          .sort(byState)
          .map((r) => r.task),
      );
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * One row for a template's tasks: its state is the busiest of theirs (running, then
 * failed, then waiting, and merged only when all are), its time and cost their sums.
 */
export function groupRow(template: string, tasks: readonly TaskView[], expanded: boolean): TaskView {
  let merged = 0;
  let running = 0;
  let failed = 0;
  let costUsd = 0;
  let turns: number | undefined;
  let startedAt: number | undefined;
  let endedAt: number | undefined;
  let best: TaskState = 'merged';
  for (const t of tasks) {
    if (t.state === 'merged') merged++;
    else if (ACTIVE_STATES.has(t.state) || t.state === 'merging' || t.state === 'queued') running++;
    else if (FAILED_STATES.has(t.state) || t.state === 'blocked') failed++;
    costUsd += t.costUsd;
    if (t.turns !== undefined) turns = (turns ?? 0) + t.turns;
    if (t.startedAt !== undefined) startedAt = Math.min(startedAt ?? t.startedAt, t.startedAt);
    if (t.endedAt !== undefined) endedAt = Math.max(endedAt ?? t.endedAt, t.endedAt);
    if (stateRank(t.state) < stateRank(best)) best = t.state;
  }
  const count = tasks.length;
  const waiting = count - merged - running - failed;
  return {
    id: template,
    // ▸ folded, ▾ open: enter on the row switches.
    title: `${expanded ? '▾' : '▸'} ${count} task${count === 1 ? '' : 's'}, ${merged} merged`,
    dependsOn: [],
    files: [],
    state: best,
    attempt: 0,
    startedAt,
    endedAt: merged + failed === count ? endedAt : undefined,
    turns,
    costUsd,
    action: undefined,
    reason: undefined,
    denied: tasks.reduce((n, t) => n + t.denied, 0),
    log: [],
    logTotal: 0,
    group: { count, merged, running, failed, waiting, expanded },
  };
}

/** A template row's last column: the counts its title has no room for. */
export function groupText(group: NonNullable<TaskView['group']>): string {
  return `${group.running} running, ${group.failed} failed, ${group.waiting} waiting`;
}
