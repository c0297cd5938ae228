import { Box, Text } from 'ink';
import { truncate } from '../format.js';
import { toneColor } from '../glyphs.js';
import type { TaskView } from '../view-model.js';
import { titleRule } from './log-tail.js';

export interface LogViewProps {
  readonly task: TaskView | undefined;
  /** Lines scrolled up from the newest (0 follows the log as it grows). */
  readonly offset: number;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

/** Lines of log a log view of `height` shows (the title and the key line take two). */
export function logViewPage(height: number): number {
  return Math.max(1, height - 2);
}

/** The selected task's whole kept log, scrollable; older lines are in `swarm logs`. */
export function LogView({ task, offset, height, width, color }: LogViewProps) {
  const page = logViewPage(height);
  const log = task?.log ?? [];
  const top = Math.max(0, log.length - page);
  const from = Math.max(0, top - Math.min(offset, top));
  const lines = log.slice(from, from + page);
  const dropped = task === undefined ? 0 : task.logTotal - task.log.length;
  const position = log.length === 0 ? 'empty' : `lines ${from + 1 + dropped}-${from + lines.length + dropped} of ${task?.logTotal ?? 0}`;
  const older = dropped > 0 && from === 0 ? ` · older lines: swarm logs ${task?.id ?? ''}` : '';
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">
        {titleRule(task === undefined ? 'no task selected' : `${task.id}: ${task.title} (attempt ${task.attempt})`, width)}
      </Text>
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line === '' ? ' ' : truncate(line, width)}
        </Text>
      ))}
      {Array.from({ length: page - lines.length }, (_, i) => (
        <Text key={`pad${i}`}> </Text>
      ))}
      <Text color={toneColor('dim', color)} wrap="truncate-end">
        {truncate(`${position}${older} · ↑↓ jk scroll · esc/enter back`, width)}
      </Text>
    </Box>
  );
}
