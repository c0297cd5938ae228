import { describe, expect, it } from 'vitest';
import { INITIAL_UI } from '../../src/tui/ui-state.js';
import { finishedEvents, sampleEvents, storeFrom } from './fixtures.js';

// Colours are on here whatever the test runner's terminal is, so that leaving them out
// with `color={false}` is something this test can see.
process.env.FORCE_COLOR = '1';
const { renderToString } = await import('ink');
const { Screen } = await import('../../src/tui/components/screen.js');
const { visibleTasks } = await import('../../src/tui/order.js');

const ESC = '\u001b[';

describe('NO_COLOR', () => {
  const running = storeFrom(sampleEvents()).getSnapshot();
  const ended = storeFrom(finishedEvents(), 252);
  ended.close();
  ended.dispose();

  for (const [name, view] of [
    ['running', running],
    ['summary', ended.getSnapshot()],
  ] as const) {
    it(`the ${name} screen has colours by default and none without, glyphs either way`, () => {
      const draw = (color: boolean) =>
        renderToString(
          <Screen view={view} ui={INITIAL_UI} visible={visibleTasks(view.tasks, false)} selected={0} width={80} height={24} color={color} file="swarm.yaml" />,
          { columns: 80 },
        );
      const colored = draw(true);
      const plain = draw(false);
      expect(colored).toContain(ESC);
      expect(plain).not.toContain(ESC);
      expect(plain).toContain('✗');
      expect(plain).toMatch(/[✓✗⠋]/);
    });
  }
});
