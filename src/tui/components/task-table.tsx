import { Box, Text } from 'ink';
import { elapsed, fit, money } from '../format.js';
import { stateGlyph, toneColor } from '../glyphs.js';
import type { TaskView } from '../view-model.js';
import { actionText } from './action-text.js';
import { columnsFor, type Columns } from './columns.js';

export interface TaskTableProps {
  /** The rows to show, already filtered and ordered. */
  readonly tasks: readonly TaskView[];
  /** Every task of the run, to say which dependencies a task waits for. */
  readonly all: readonly TaskView[];
  readonly selected: number;
  /** Lines available, the column header included. */
  readonly height: number;
  readonly width: number;
  readonly now: number;
  readonly frame: number;
  readonly color: boolean;
  readonly filter: boolean;
}

/** The first row shown so that the selected row stays in view, near the middle. */
export function windowStart(count: number, selected: number, rows: number): number {
  if (count <= rows) return 0;
  return Math.min(count - rows, Math.max(0, selected - Math.floor(rows / 2)));
}

function cells(c: Columns, values: { id: string; title: string; attempt: string; time: string; turns: string; cost: string; action: string }): string {
  const parts = [fit(values.id, c.id)];
  if (c.title > 0) parts.push(fit(values.title, c.title));
  parts.push(fit(values.attempt, c.attempt, true), fit(values.time, c.time, true));
  if (c.turns > 0) parts.push(fit(values.turns, c.turns, true));
  if (c.cost > 0) parts.push(fit(values.cost, c.cost, true));
  parts.push(fit(values.action, c.action));
  return parts.join(' ');
}

/** One row per task: state glyph (a spinner while it works), id, title, attempt, time, turns, cost, action. */
export function TaskTable({ tasks, all, selected, height, width, now, frame, color, filter }: TaskTableProps) {
  const c = columnsFor(width, all);
  const rows = Math.max(0, height - 1);
  const start = windowStart(tasks.length, selected, rows);
  const shown = tasks.slice(start, start + rows);
  const byId = new Map(all.map((t) => [t.id, t.state]));
  const stateOf = (id: string) => byId.get(id);
  const range =
    filter || shown.length < tasks.length
      ? ` ${tasks.length === 0 ? 0 : start + 1}-${start + shown.length}/${tasks.length}${filter ? ' failed+running' : ''}`
      : '';
  const head = cells(c, { id: 'TASK', title: 'TITLE', attempt: '#', time: 'TIME', turns: 'TURNS', cost: 'COST', action: `ACTION${range}` });
  return (
    <Box flexDirection="column">
      <Text color={toneColor('dim', color)} wrap="truncate-end">
        {fit(' '.repeat(3) + head, width)}
      </Text>
      {shown.length === 0 && rows > 0 ? (
        <Text wrap="truncate-end">{fit(filter ? '   no failed or running tasks (f shows all)' : '   no tasks', width)}</Text>
      ) : null}
      {shown.map((task, i) => {
        const isSelected = start + i === selected;
        const glyph = stateGlyph(task.state, frame);
        const end = task.endedAt ?? now;
        const text = cells(c, {
          id: task.id,
          title: task.title,
          attempt: task.attempt > 0 ? String(task.attempt) : '',
          time: task.startedAt === undefined ? '' : elapsed(end - task.startedAt),
          turns: task.turns === undefined ? '' : String(task.turns),
          cost: task.costUsd > 0 ? money(task.costUsd) : '',
          action: actionText(task, stateOf),
        });
        return (
          <Text key={task.id} wrap="truncate-end" bold={color && isSelected}>
            {isSelected ? '›' : ' '}
            <Text color={toneColor(glyph.tone, color)}>{glyph.char}</Text> <Text inverse={color && isSelected}>{fit(text, width - 3)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
