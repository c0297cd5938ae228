import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunControls } from '../../src/report/reporter.js';
import { App } from '../../src/tui/app.js';
import { TuiStore } from '../../src/tui/store.js';
import { waitFor } from './fake-tty.js';
import { ev, sampleEvents, T0 } from './fixtures.js';

const instances: { unmount(): void }[] = [];

afterEach(() => {
  for (const instance of instances.splice(0)) instance.unmount();
});

function setup() {
  const store = new TuiStore({ now: () => T0 + 192_000 });
  for (const event of sampleEvents()) store.handle(event);
  const calls: boolean[] = [];
  const controls: RunControls = { stop: (force) => calls.push(force) };
  const app = render(<App store={store} controls={controls} file="swarm.yaml" color={false} />);
  instances.push(app);
  const frame = () => app.lastFrame() ?? '';
  /** The task id on the selected row (the one marked `›`). */
  const selectedRow = () => /^›\S\s+(\S+)/m.exec(frame())?.[1];
  return { store, calls, app, frame, selectedRow };
}

describe('keys', () => {
  it('j/k and the arrows move the selection; the log tail follows it', async () => {
    const { app, frame, selectedRow } = setup();
    await waitFor(() => expect(selectedRow()).toBe('auth'));
    app.stdin.write('j');
    await waitFor(() => expect(selectedRow()).toBe('api'));
    expect(frame()).toContain('── api: Split the API router by resource');
    app.stdin.write('\u001b[B'); // down arrow
    await waitFor(() => expect(selectedRow()).toBe('cli'));
    app.stdin.write('k');
    await waitFor(() => expect(selectedRow()).toBe('api'));
    app.stdin.write('\u001b[A'); // up arrow
    await waitFor(() => expect(selectedRow()).toBe('auth'));
    app.stdin.write('k'); // already at the top
    await new Promise((resolve) => setImmediate(resolve));
    expect(selectedRow()).toBe('auth');
  });

  it('o asks to follow the selected task’s log in a tmux pane, in the table and in the log view', async () => {
    const { store, app, selectedRow } = setup();
    const opened: string[] = [];
    app.rerender(<App store={store} controls={{ stop: () => undefined, openLog: (task) => opened.push(task) }} file="swarm.yaml" color={false} />);
    app.stdin.write('j');
    await waitFor(() => expect(selectedRow()).toBe('api'));
    app.stdin.write('o');
    await waitFor(() => expect(opened).toEqual(['api']));
    app.stdin.write('\r');
    app.stdin.write('o');
    await waitFor(() => expect(opened).toEqual(['api', 'api']));
  });

  it('enter opens the selected task’s full log, enter goes back', async () => {
    const { app, frame, selectedRow } = setup();
    app.stdin.write('j');
    app.stdin.write('j');
    await waitFor(() => expect(selectedRow()).toBe('cli'));
    app.stdin.write('\r');
    await waitFor(() => expect(frame()).toContain('── cli: Add --json to every CLI command (attempt 1)'));
    expect(frame()).toContain('agent failed (exit 1): max turns reached');
    expect(frame()).toContain('esc/enter back');
    expect(frame()).not.toContain('TITLE');
    app.stdin.write('\r');
    await waitFor(() => expect(frame()).toContain('TITLE'));
    expect(selectedRow()).toBe('cli');
  });

  it('f shows only failed or running tasks, and f again shows all', async () => {
    const { app, frame } = setup();
    await waitFor(() => expect(frame()).toContain('search'));
    app.stdin.write('f');
    await waitFor(() => expect(frame()).toMatch(/ACTION 1-3\/3 failed\+running/));
    expect(frame()).not.toMatch(/search|docs| {2}db /);
    expect(frame()).toMatch(/✗ cli/);
    app.stdin.write('f');
    await waitFor(() => expect(frame()).toContain('search'));
    expect(frame()).not.toMatch(/ACTION \d/);
  });

  it('? shows the keys, ? again hides them', async () => {
    const { app, frame } = setup();
    app.stdin.write('?');
    await waitFor(() => expect(frame()).toContain('kill the agents now'));
    app.stdin.write('?');
    await waitFor(() => expect(frame()).toContain('TITLE'));
  });

  it('q stops gracefully, a second q kills', async () => {
    const { app, frame, calls } = setup();
    app.stdin.write('q');
    await waitFor(() => expect(frame()).toContain('stopping… press q again to kill'));
    expect(calls).toEqual([false]);
    app.stdin.write('q');
    await waitFor(() => expect(frame()).toContain('killing the agents…'));
    expect(calls).toEqual([false, true]);
    app.stdin.write('q');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([false, true]);
  });

  it('ctrl-c stops gracefully, a second one kills, and neither exits the app', async () => {
    const { app, frame, calls } = setup();
    app.stdin.write('\u0003');
    await waitFor(() => expect(calls).toEqual([false]));
    app.stdin.write('\u0003');
    await waitFor(() => expect(calls).toEqual([false, true]));
    await waitFor(() => expect(frame()).toContain('killing the agents…'));
  });

  it('keys typed in one chunk each count', async () => {
    const { app, selectedRow } = setup();
    app.stdin.write('jjj');
    await waitFor(() => expect(selectedRow()).toBe('search'));
  });
});

describe('live updates', () => {
  it('shows new events without a key press', async () => {
    const { store, frame } = setup();
    await waitFor(() => expect(frame()).toContain('Edit src/auth/login.ts'));
    store.handle(ev(193, { type: 'agent', reason: 'tool', task: 'auth', attempt: 2, tool: 'Write', summary: 'src/auth/token.ts' }));
    await waitFor(() => expect(frame()).toContain('Write src/auth/token.ts'));
  });

  it('the selection follows its task when the rows reorder', async () => {
    const { app, store, selectedRow } = setup();
    app.stdin.write('j');
    await waitFor(() => expect(selectedRow()).toBe('api'));
    store.handle(ev(195, { type: 'task', reason: 'state', task: 'auth', from: 'running', to: 'failed', attempt: 2 }));
    await waitFor(() => expect(/^ ✗ auth/m.test(app.lastFrame() ?? '')).toBe(true));
    expect(selectedRow()).toBe('api');
  });
});
