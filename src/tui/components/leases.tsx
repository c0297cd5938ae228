import { Box, Text } from 'ink';
import { fit, truncate } from '../format.js';
import { toneColor } from '../glyphs.js';
import type { LeaseView } from '../view-model.js';

export interface LeasesProps {
  readonly leases: readonly LeaseView[];
  /** Most lines to use; the last one says how many more there are. */
  readonly rows: number;
  readonly width: number;
  readonly color: boolean;
}

/** Lines the leases take at most `rows`: one per lease, or one saying there are none. */
export function leaseRows(count: number, rows: number): number {
  return Math.max(1, Math.min(count, rows));
}

/** The live leases, one per line: holder, fencing token, globs. */
export function Leases({ leases, rows, width, color }: LeasesProps) {
  if (leases.length === 0) {
    return (
      <Text color={toneColor('dim', color)} wrap="truncate-end">
        {truncate('leases: none', width)}
      </Text>
    );
  }
  const lines = leaseRows(leases.length, rows);
  const hidden = leases.length - lines;
  const shown = leases.slice(0, hidden > 0 ? lines - 1 : lines);
  const idWidth = Math.min(20, Math.max(...shown.map((l) => Array.from(l.task).length), 4));
  return (
    <Box flexDirection="column">
      {shown.map((lease, i) => (
        <Text key={lease.task} wrap="truncate-end">
          {fit(`${i === 0 ? 'leases:' : ''}`, 8)}
          {truncate(`${fit(lease.task, idWidth)} #${lease.token}  ${lease.globs.join(', ')}`, Math.max(0, width - 8))}
        </Text>
      ))}
      {hidden > 0 ? (
        <Text color={toneColor('dim', color)} wrap="truncate-end">
          {truncate(`${shown.length === 0 ? 'leases: ' : '        '}… ${leases.length - shown.length} more`, width)}
        </Text>
      ) : null}
    </Box>
  );
}
