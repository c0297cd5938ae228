import { Box, Text } from 'ink';
import { FAILED_STATES, type TaskState } from '../../engine/task-state.js';
import { unreachable } from '../../util/result.js';
import { elapsed, fit, money, shellArg } from '../format.js';
import { stateGlyph, toneColor, type Tone } from '../glyphs.js';
import type { Outcome, RunView, TaskView } from '../view-model.js';

export interface SummaryProps {
  readonly view: RunView;
  /** The run's file, for the command that resumes it. */
  readonly file: string;
  readonly width: number;
  readonly color: boolean;
}

/** Failed tasks listed one per line before the rest are counted. */
const MAX_LISTED = 12;

interface Line {
  /** Columns of indent, kept on wrapped continuation lines too. */
  readonly indent?: number;
  readonly text: string;
  readonly tone: Tone;
  readonly bold?: boolean;
}

function headline(outcome: Outcome | undefined): { readonly word: string; readonly tone: Tone } {
  switch (outcome) {
    case 'success':
      return { word: 'done', tone: 'good' };
    case 'failed':
      return { word: 'failed', tone: 'bad' };
    case 'cancelled':
      return { word: 'stopped', tone: 'warn' };
    case 'budget':
      return { word: 'stopped: budget reached', tone: 'warn' };
    case 'usage-limit':
      return { word: 'stopped: usage limit reached', tone: 'warn' };
    case undefined:
      return { word: 'ended', tone: 'warn' };
    default:
      return unreachable(outcome);
  }
}

/** `12 merged, 2 failed, 1 blocked`, in the states' own order, zero counts left out. */
export function stateCounts(tasks: readonly TaskView[]): string {
  const counts = new Map<TaskState, number>();
  for (const task of tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  const order: readonly TaskState[] = ['merged', 'failed', 'conflicted', 'blocked', 'cancelled'];
  const parts = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  const unfinished = tasks.filter((t) => !order.includes(t.state)).length;
  if (unfinished > 0) parts.push(`${unfinished} not finished`);
  return parts.join(', ');
}

/** The lines of the end-of-run summary; kept apart from Ink so it reads as plain data. */
export function summaryLines(view: RunView, file: string): Line[] {
  const { finished, tasks } = view;
  const { word, tone } = headline(finished?.outcome);
  const time = elapsed(finished?.durationMs ?? (view.startedAt === undefined ? 0 : view.now - view.startedAt));
  const cost = money(finished?.costUsd ?? view.costUsd);
  const lines: Line[] = [];
  const name = view.name === '' ? 'swarm' : `swarm ${view.name}`;
  if (finished?.outcome === 'success') {
    lines.push({ text: `✓ ${name}: all ${tasks.length} tasks merged into ${view.into} in ${time}, ${cost}`, tone, bold: true });
    return lines;
  }
  lines.push({ text: `${name} ${word} after ${time}, ${cost}`, tone, bold: true });
  lines.push({ indent: 2, text: `${stateCounts(tasks)}`, tone: 'normal' });
  const broken = tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted');
  const blocked = tasks.filter((t) => t.state === 'blocked');
  const idWidth = Math.min(20, Math.max(4, ...broken.map((t) => Array.from(t.id).length)));
  for (const task of broken.slice(0, MAX_LISTED)) {
    const why = task.reason ?? (task.state === 'conflicted' ? 'merge conflict' : 'failed');
    lines.push({ indent: 2, text: `${stateGlyph(task.state, 0).char} ${fit(task.id, idWidth)}  ${why}`, tone: 'bad' });
  }
  if (broken.length > MAX_LISTED) lines.push({ indent: 2, text: `… ${broken.length - MAX_LISTED} more: swarm status`, tone: 'bad' });
  if (blocked.length > 0) {
    const names = blocked
      .slice(0, 8)
      .map((t) => t.id)
      .join(', ');
    const more = blocked.length > 8 ? `, … ${blocked.length - 8} more` : '';
    lines.push({ indent: 2, text: `${stateGlyph('blocked', 0).char} blocked by a failed dependency: ${names}${more}`, tone: 'warn' });
  }
  const first = broken[0] ?? tasks.find((t) => FAILED_STATES.has(t.state));
  lines.push({ text: '', tone: 'normal' });
  lines.push({
    indent: 2,
    text: first === undefined ? `a task's log:       swarm logs TASK` : `why a task failed:  swarm logs ${first.id}`,
    tone: 'normal',
  });
  lines.push({ indent: 2, text: `every task:         swarm status ${view.name}`.trimEnd(), tone: 'normal' });
  lines.push({ indent: 2, text: `resume the run:     swarm run ${shellArg(file)}`, tone: 'normal' });
  return lines;
}

/** The end of a run: counts, each failed task and why, and where to look next. */
export function Summary({ view, file, width, color }: SummaryProps) {
  return (
    <Box flexDirection="column" width={width}>
      {summaryLines(view, file).map((line, i) => (
        // The summary stays in the scrollback after the run: wrap it, never cut a command.
        <Box key={i} paddingLeft={line.indent ?? 0}>
          <Text color={toneColor(line.tone, color)} bold={color && line.bold === true} wrap="wrap">
            {line.text === '' ? ' ' : line.text}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
