import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { Screen } from '../../src/tui/components/screen.js';
import { visibleTasks } from '../../src/tui/order.js';
import { INITIAL_UI, type UiState } from '../../src/tui/ui-state.js';
import type { RunView } from '../../src/tui/view-model.js';
import { ev, sampleEvents, storeFrom } from './fixtures.js';

function frame(view: RunView, width: number, height = 24, ui: UiState = INITIAL_UI): string {
  const visible = visibleTasks(view.tasks, ui.filter);
  const selected = Math.max(0, visible.findIndex((t) => t.id === ui.selected));
  return renderToString(
    <Screen view={view} ui={ui} visible={visible} selected={selected} width={width} height={height} color={false} file="swarm.yaml" />,
    { columns: width },
  );
}

function widest(text: string): number {
  return Math.max(...text.split('\n').map((line) => Array.from(line).length));
}

describe('the running screen', () => {
  const view = storeFrom(sampleEvents()).getSnapshot();

  for (const width of [40, 80, 120]) {
    it(`fits ${width} columns and 24 rows`, () => {
      const text = frame(view, width);
      expect(widest(text)).toBeLessThanOrEqual(width);
      // One row short of the terminal, or Ink clears the whole screen on every frame.
      expect(text.split('\n').length).toBeLessThanOrEqual(23);
      expect(text).toMatchSnapshot();
    });
  }
});
