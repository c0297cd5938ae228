import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { Screen } from '../../src/tui/components/screen.js';
import { visibleTasks } from '../../src/tui/order.js';
import { INITIAL_UI, type UiState } from '../../src/tui/ui-state.js';
import type { RunView } from '../../src/tui/view-model.js';
import { bigRun, ev, finishedEvents, sampleEvents, started, state, storeFrom, TASKS } from './fixtures.js';

function frame(view: RunView, width: number, height = 24, ui: UiState = INITIAL_UI): string {
  const visible = visibleTasks(view.tasks, ui.filter);
  const selected = Math.max(
    0,
    visible.findIndex((t) => t.id === ui.selected),
  );
  return renderToString(<Screen view={view} ui={ui} visible={visible} selected={selected} width={width} height={height} color={false} file="swarm.yaml" />, {
    columns: width,
  });
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

describe('the end of a run', () => {
  function closedView(events = finishedEvents()): RunView {
    const store = storeFrom(events, 252);
    store.close();
    store.dispose();
    return store.getSnapshot();
  }

  for (const width of [40, 80, 120]) {
    it(`summarises a failed run at ${width} columns`, () => {
      const text = frame(closedView(), width);
      expect(widest(text)).toBeLessThanOrEqual(width);
      expect(text).toMatchSnapshot();
    });
  }

  it('names each failed task, why, and the commands to look further', () => {
    const text = frame(closedView(), 120);
    expect(text).toContain('swarm api-refactor failed after 4m12s, $3.10\n  2 merged, 3 failed, 2 blocked, 1 cancelled\n');
    expect(text).toMatch(/✗ auth +check failed \(exit 1\): npm test -- auth/);
    expect(text).toMatch(/✗ cli +agent failed: max turns reached/);
    expect(text).toMatch(/✗ web +merge conflict in src\/api\/router.ts/);
    expect(text).toContain('blocked by a failed dependency: docs, ui');
    expect(text).toContain('swarm logs auth');
    expect(text).toContain('swarm run swarm.yaml');
    expect(text).not.toContain('TITLE');
  });

  it('says so in one line when every task merged', () => {
    const store = storeFrom([
      started(TASKS.slice(0, 1)),
      state(1, 'db', 'pending', 'merged'),
      ev(9, { type: 'run', reason: 'finished', outcome: 'success', merged: 1, total: 1, costUsd: 0.5, durationMs: 9000 }),
    ]);
    store.close();
    store.dispose();
    const text = frame(store.getSnapshot(), 80);
    expect(text).toContain('✓ swarm api-refactor: all 1 tasks merged into swarm/api-refactor in 9s, $0.50');
    expect(text).not.toContain('swarm run');
  });
});

describe('the log view and the help', () => {
  const view = storeFrom(sampleEvents()).getSnapshot();
  for (const width of [40, 80, 120]) {
    it(`shows the whole log of the selected task at ${width} columns`, () => {
      const text = frame(view, width, 24, { ...INITIAL_UI, mode: 'log', selected: 'auth' });
      expect(widest(text)).toBeLessThanOrEqual(width);
      expect(text.split('\n').length).toBeLessThanOrEqual(23);
      expect(text).toMatchSnapshot();
    });
  }

  it('scrolls up from the newest line', () => {
    const bottom = frame(view, 80, 12, { ...INITIAL_UI, mode: 'log', selected: 'auth' });
    const up = frame(view, 80, 12, { ...INITIAL_UI, mode: 'log', selected: 'auth', logOffset: 3 });
    expect(bottom).toContain('API overloaded (HTTP 529); retry 2 in 20s');
    expect(up).not.toContain('API overloaded (HTTP 529); retry 2 in 20s');
    const last = (text: string) => Number(/lines \d+-(\d+) of 14/.exec(text)?.[1]);
    expect(last(bottom)).toBe(14);
    expect(last(up)).toBe(11);
  });

  it('lists the keys', () => {
    expect(frame(view, 80, 24, { ...INITIAL_UI, mode: 'help' })).toMatchSnapshot();
  });
});

describe('a 200-task run', () => {
  const view = storeFrom(bigRun(200, 24), 60).getSnapshot();
  for (const [width, height] of [
    [40, 12],
    [80, 24],
    [120, 50],
  ] as const) {
    it(`shows a window of rows that fits ${width}x${height}`, () => {
      const text = frame(view, width, height);
      expect(widest(text)).toBeLessThanOrEqual(width);
      expect(text.split('\n').length).toBeLessThanOrEqual(height - 1);
      expect(text).toMatch(/1-\d+\/200/);
    });
  }

  it('keeps the selected row in view far down the table', () => {
    const text = frame(view, 80, 24, { ...INITIAL_UI, selected: 't150' });
    expect(text).toMatch(/^›· t150 /m);
    expect(text).not.toMatch(/^ \S t001 /m);
  });

  it('lists the first leases and counts the rest', () => {
    const text = frame(view, 80, 40);
    expect(text).toMatch(/leases: t001 +#1 {2}src\/t001\/\*\*/);
    expect(text).toContain('… 21 more');
  });
});

describe('a task whose tool calls Claude Code refused', () => {
  it('shows how many in its row, before its action', () => {
    const events = [
      started(TASKS),
      state(1, 'db', 'pending', 'running'),
      ev(2, { type: 'agent', reason: 'tool', task: 'db', attempt: 1, tool: 'Bash', summary: 'Bash npm test' }),
      ev(3, { type: 'agent', reason: 'denied', task: 'db', attempt: 1, tool: 'Bash', summary: 'Bash npm test', suggestion: 'Bash(npm test:*)' }),
    ];
    const row = frame(storeFrom(events).getSnapshot(), 120)
      .split('\n')
      .find((l) => l.includes(' db '))!;
    expect(row).toContain('[1 refused] Bash npm test');
  });
});
