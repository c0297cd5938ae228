import { Box, Text } from 'ink';
import { truncate } from '../format.js';

export interface HelpProps {
  readonly width: number;
  readonly color: boolean;
}

export const HELP_LINES: readonly (readonly [string, string])[] = [
  ['↑ ↓  j k', 'select a task (in the log view: scroll)'],
  ['PgUp PgDn', 'move a page'],
  ['enter', 'open the selected task’s log; enter or esc goes back'],
  ['f', 'show only failed or running tasks / show all'],
  ['o', 'inside tmux: follow the selected task’s log in a new pane'],
  ['?', 'this help; ? or esc closes it'],
  ['q, ctrl-c', 'stop: running agents stop, the run stays resumable'],
  ['again', 'kill the agents now'],
];

/** The keys. */
export function Help({ width, color }: HelpProps) {
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">
        {truncate('keys', width)}
      </Text>
      {HELP_LINES.map(([keys, what]) => (
        <Text key={keys} wrap="truncate-end">
          {truncate(`  ${keys.padEnd(16)} ${what}`, width)}
        </Text>
      ))}
    </Box>
  );
}
