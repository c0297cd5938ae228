import { Box, Text } from 'ink';
import { fit, truncate } from '../format.js';
import { toneColor } from '../glyphs.js';
import type { TaskView } from '../view-model.js';

export interface LogTailProps {
  readonly task: TaskView | undefined;
  /** Lines to fill, the title line included; always all of them, so the layout stays put. */
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

/** A rule with the task's name: `── auth: Move auth to async ─────`. */
export function titleRule(label: string, width: number): string {
  const text = `── ${label} `;
  return fit(text + '─'.repeat(Math.max(0, width - Array.from(text).length)), width);
}

/** The selected task's newest log lines. */
export function LogTail({ task, height, width, color }: LogTailProps) {
  if (height <= 0) return null;
  const body = height - 1;
  const lines = task === undefined ? [] : task.log.slice(-body);
  const padding = Array.from({ length: body - lines.length }, () => '');
  return (
    <Box flexDirection="column">
      <Text color={toneColor('dim', color)} wrap="truncate-end">
        {titleRule(task === undefined ? 'log' : `${task.id}: ${task.title}`, width)}
      </Text>
      {[...padding, ...lines].map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line === '' ? ' ' : truncate(line, width)}
        </Text>
      ))}
    </Box>
  );
}
