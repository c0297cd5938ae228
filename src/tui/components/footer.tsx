import { Text } from 'ink';
import { truncate } from '../format.js';
import { toneColor } from '../glyphs.js';
import type { UiState } from '../ui-state.js';
import type { RunView } from '../view-model.js';

export interface FooterProps {
  readonly view: RunView;
  readonly ui: UiState;
  readonly width: number;
  readonly color: boolean;
}

/** The key hints, or, once stopping, what is happening and how to kill. */
export function Footer({ view, ui, width, color }: FooterProps) {
  const force = ui.stop === 'force' || view.stopping?.force === true;
  if (force || ui.stop === 'graceful' || view.stopping !== undefined) {
    const text = force ? 'killing the agents…' : 'stopping… press q again to kill';
    return (
      <Text color={toneColor('warn', color)} bold={color} wrap="truncate-end">
        {truncate(text, width)}
      </Text>
    );
  }
  const hints =
    width >= 60 ? `↑↓/jk select · enter log · f ${ui.filter ? 'show all' : 'failed+running'} · ? help · q stop` : `jk · enter log · f filter · ? · q stop`;
  return (
    <Text color={toneColor('dim', color)} wrap="truncate-end">
      {truncate(hints, width)}
    </Text>
  );
}
