import { Text } from 'ink';
import { truncate } from '../format.js';
import { SPINNER, toneColor } from '../glyphs.js';
import type { MergeEntry } from '../view-model.js';

export interface MergeQueueProps {
  readonly entries: readonly MergeEntry[];
  readonly width: number;
  readonly frame: number;
  readonly color: boolean;
}

/** One line: the task being merged, then the ones waiting, in merge order. */
export function MergeQueue({ entries, width, frame, color }: MergeQueueProps) {
  const names = entries.map((e) => (e.merging ? `${SPINNER[frame % SPINNER.length]} ${e.task}` : e.task));
  const text = entries.length === 0 ? 'merge queue: empty' : `merge queue: ${names.join(' ‹ ')}`;
  return (
    <Text color={toneColor(entries.length === 0 ? 'dim' : 'normal', color)} wrap="truncate-end">
      {truncate(text, width)}
    </Text>
  );
}
