import { Box, Text } from 'ink';
import { elapsed, fit, money, truncate } from '../format.js';
import { stateGlyph, toneColor } from '../glyphs.js';
import type { TaskView } from '../view-model.js';
import { groupText } from '../order.js';
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

interface Cells {
  readonly id: string;
  readonly title: string;
  readonly attempt: string;
  readonly time: string;
  readonly turns: string;
  readonly cost: string;
  readonly action: string;
}

/**
 * A row in three pieces: what rarely changes (id, title, attempt), the elapsed time (each
 * second), and the rest (turns, cost, action). Ink measures every text it lays out and
 * keeps each measured string for the life of the process; pieces that change one at a
 * time keep that cache, and the work per frame, small on a long run.
 */
function cells(c: Columns, v: Cells): readonly [string, string, string] {
  const fixed = [fit(v.id, c.id)];
  if (c.title > 0) fixed.push(fit(v.title, c.title));
  fixed.push(fit(v.attempt, c.attempt, true));
  const rest: string[] = [];
  if (c.turns > 0) rest.push(fit(v.turns, c.turns, true));
  if (c.cost > 0) rest.push(fit(v.cost, c.cost, true));
  // Trailing spaces cost Ink work on every frame and show nothing.
  rest.push(truncate(v.action, c.action));
  return [`${fixed.join(' ')} `, fit(v.time, c.time, true), ` ${rest.join(' ')}`];
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
  const head = cells(c, { id: 'TASK', title: 'TITLE', attempt: '#', time: 'TIME', turns: 'TURNS', cost: 'COST', action: `ACTION${range}` }).join('');
  return (
    <Box flexDirection="column">
      <Text color={toneColor('dim', color)} wrap="truncate-end">
        {truncate(' '.repeat(3) + head, width)}
      </Text>
      {shown.length === 0 && rows > 0 ? (
        <Text wrap="truncate-end">{truncate(filter ? '   no failed or running tasks (f shows all)' : '   no tasks', width)}</Text>
      ) : null}
      {shown.map((task, i) => {
        const isSelected = start + i === selected;
        const glyph = stateGlyph(task.state, frame);
        const end = task.endedAt ?? now;
        const [fixed, time, rest] = cells(c, {
          // A template's tasks show only under its open row, indented.
          id: task.template === undefined ? task.id : ` ${task.id}`,
          title: task.title,
          attempt: task.attempt > 0 ? String(task.attempt) : '',
          time: task.startedAt === undefined ? '' : elapsed(end - task.startedAt),
          turns: task.turns === undefined ? '' : String(task.turns),
          cost: task.costUsd > 0 ? money(task.costUsd) : '',
          // A refused tool call is easy to miss (the agent goes on without it): keep it in sight.
          action: `${task.denied > 0 ? `[${task.denied} refused] ` : ''}${task.group === undefined ? actionText(task, stateOf) : groupText(task.group)}`,
        });
        const room = Math.max(0, width - 3 - Array.from(fixed).length - Array.from(time).length);
        const tail = isSelected ? fit(rest, room) : truncate(rest, room);
        return (
          <Box key={task.id} height={1} width={width}>
            <Text bold={color && isSelected}>
              {isSelected ? '›' : ' '}
              <Text color={toneColor(glyph.tone, color)}>{glyph.char}</Text>{' '}
            </Text>
            <Text inverse={color && isSelected} wrap="truncate-end">
              {fixed}
            </Text>
            <Text inverse={color && isSelected}>{time}</Text>
            <Text inverse={color && isSelected} wrap="truncate-end">
              {tail}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}
