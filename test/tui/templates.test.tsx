import { PassThrough } from 'node:stream';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../src/engine/events.js';
import { createPlainReporter } from '../../src/report/plain.js';
import { App } from '../../src/tui/app.js';
import { visibleTasks } from '../../src/tui/order.js';
import { TuiStore } from '../../src/tui/store.js';
import { waitFor } from './fake-tty.js';
import { ev, started, state, T0 } from './fixtures.js';

/** A run with one ordinary task and a template of five packages: two merged, one running, one failed, one waiting. */
const PKGS = ['billing', 'core', 'search', 'users', 'web'];
const TASKS: TaskInfo[] = [
  { id: 'prep', title: 'Prepare', dependsOn: [], files: ['prep/**'], state: 'pending' },
  ...PKGS.map(
    (p): TaskInfo => ({
      id: `migrate.${p}`,
      title: `Migrate ${p}`,
      dependsOn: [],
      files: [`packages/${p}/**`],
      state: 'pending',
      template: 'migrate',
      match: `packages/${p}`,
    }),
  ),
];

function events() {
  return [
    started(TASKS),
    state(1, 'migrate.billing', 'pending', 'merged'),
    state(1, 'migrate.core', 'pending', 'merged'),
    state(2, 'migrate.search', 'pending', 'running'),
    state(3, 'migrate.users', 'pending', 'failed', 1, 'the agent exited with code 1'),
  ];
}

function store(): TuiStore {
  const s = new TuiStore({ now: () => T0 + 60_000 });
  for (const e of events()) s.handle(e);
  return s;
}

const instances: { unmount(): void }[] = [];
afterEach(() => {
  for (const instance of instances.splice(0)) instance.unmount();
});

describe('a template in the TUI', () => {
  it('is one row with its counts, and its tasks follow it only when it is open', () => {
    const view = store().getSnapshot();
    const closed = visibleTasks(view.tasks, false);
    expect(closed.map((t) => t.id)).toEqual(['migrate', 'prep']);
    expect(closed[0]!.group).toEqual({ count: 5, merged: 2, running: 1, failed: 1, waiting: 1, expanded: false });
    expect(closed[0]!.state).toBe('running');
    const open = visibleTasks(view.tasks, false, new Set(['migrate']));
    expect(open.map((t) => t.id)).toEqual(['migrate', 'migrate.search', 'migrate.users', 'migrate.web', 'migrate.billing', 'migrate.core', 'prep']);
  });

  it('enter on the template row opens and folds it; enter on one of its tasks opens its log', async () => {
    const app = render(<App store={store()} controls={{ stop: () => undefined }} file="swarm.yaml" color={false} />);
    instances.push(app);
    const frame = () => app.lastFrame() ?? '';
    await waitFor(() => expect(frame()).toMatch(/migrate\s+▸ 5 tasks, 2 merged .*1 running, 1 failed, 1 waiting/));
    expect(frame()).not.toContain('migrate.billing');
    app.stdin.write('\r');
    await waitFor(() => expect(frame()).toContain(' migrate.billing'));
    expect(frame()).toContain('▾ 5 tasks, 2 merged');
    app.stdin.write('j');
    app.stdin.write('\r');
    await waitFor(() => expect(frame()).toContain('── migrate.search'));
    app.stdin.write('\u001b');
    app.stdin.write('k');
    app.stdin.write('\r');
    await waitFor(() => expect(frame()).not.toContain('migrate.billing'));
  });
});

describe('a template in the plain reporter', () => {
  it('names the template with its count and first matches at the start, and its counts at the end', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += String(d)));
    const reporter = createPlainReporter({ out, file: 'swarm.yaml' });
    for (const e of events()) reporter.handle(e);
    reporter.handle(state(4, 'migrate.search', 'running', 'merged'));
    reporter.handle(ev(5, { type: 'run', reason: 'finished', outcome: 'failed', merged: 3, total: 6, costUsd: 0, durationMs: 5000 }));
    expect(text).toContain('  migrate: 5 tasks (packages/billing, packages/core, packages/search, ... (2 more))\n');
    expect(text).toContain('swarm: failed: 3/6 merged in 5s\n  migrate: 3 merged, 0 running, 1 failed, 1 waiting\n');
  });
});
