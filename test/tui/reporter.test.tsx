import { render } from 'ink';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunControls } from '../../src/report/reporter.js';
import { App } from '../../src/tui/app.js';
import { createTuiReporter, noColorFromEnv } from '../../src/tui/reporter.js';
import { TuiStore } from '../../src/tui/store.js';
import { FakeStdin, FakeStdout, waitFor } from './fake-tty.js';
import { finishedEvents, sampleEvents, T0 } from './fixtures.js';

// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '');

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('createTuiReporter', () => {
  it('closes with the final frame and the summary, and gives the terminal back', async () => {
    const stdout = new FakeStdout(100, 30);
    const stdin = new FakeStdin();
    const calls: boolean[] = [];
    const reporter = createTuiReporter({
      stdout: stdout.asStream(),
      stdin: stdin.asStream(),
      controls: { stop: (force) => calls.push(force) },
      file: 'jobs/my swarm.yaml',
      noColor: true,
      now: () => T0 + 252_000,
    });
    await waitFor(() => expect(stdin.rawMode).toBe(true));
    for (const event of finishedEvents()) reporter.handle(event);
    await reporter.close();
    const out = plain(stdout.output);
    const summary = out.slice(out.lastIndexOf('swarm api-refactor → swarm/api-refactor'));
    expect(summary).toContain('swarm api-refactor failed after 4m12s, $3.10');
    expect(summary).toMatch(/✗ cli +agent failed: max turns reached/);
    expect(summary).toContain("swarm run 'jobs/my swarm.yaml'");
    expect(summary).not.toContain('TITLE');
    expect(stdin.rawMode).toBe(false);
    expect(calls).toEqual([]);
    // Closing twice is harmless, and events after close are ignored.
    await reporter.close();
    reporter.handle(sampleEvents()[0]!);
  });

  it('turns ctrl-c into a kill request instead of exiting', async () => {
    const stdout = new FakeStdout();
    const stdin = new FakeStdin();
    const calls: boolean[] = [];
    const reporter = createTuiReporter({
      stdout: stdout.asStream(),
      stdin: stdin.asStream(),
      controls: { stop: (force) => calls.push(force) },
      file: 'swarm.yaml',
      noColor: true,
    });
    cleanups.push(() => void reporter.close());
    for (const event of sampleEvents()) reporter.handle(event);
    await waitFor(() => expect(stdin.rawMode).toBe(true));
    stdin.type('q');
    await waitFor(() => expect(calls).toEqual([false]));
    stdin.type('\u0003');
    await waitFor(() => expect(calls).toEqual([false, true]));
    await reporter.close();
    expect(plain(stdout.output)).toContain('swarm api-refactor ended after');
  });

  it('reads NO_COLOR as no-color.org says: set and not empty', () => {
    expect(noColorFromEnv({ NO_COLOR: '1' })).toBe(true);
    expect(noColorFromEnv({ NO_COLOR: '' })).toBe(false);
    expect(noColorFromEnv({})).toBe(false);
  });
});

describe('the terminal size', () => {
  it('follows a resize', async () => {
    const stdout = new FakeStdout(120, 30);
    const stdin = new FakeStdin();
    const store = new TuiStore({ now: () => T0 + 192_000 });
    for (const event of sampleEvents()) store.handle(event);
    const controls: RunControls = { stop: () => undefined };
    // debug: every frame is written whole, so the last write is the current frame.
    let last = '';
    const write = stdout.write;
    stdout.write = (chunk) => {
      last = String(chunk);
      return write(chunk);
    };
    const instance = render(<App store={store} controls={controls} file="swarm.yaml" color={false} />, {
      stdout: stdout.asStream(),
      stdin: stdin.asStream(),
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    cleanups.push(() => instance.unmount());
    const widest = () =>
      Math.max(
        ...plain(last)
          .split('\n')
          .map((l) => Array.from(l).length),
      );
    await waitFor(() => expect(last).toContain('TITLE'));
    expect(widest()).toBeGreaterThan(80);
    stdout.resize(40, 20);
    await waitFor(() => expect(last).not.toContain('TITLE'));
    expect(widest()).toBeLessThanOrEqual(40);
    expect(plain(last).split('\n').length).toBeLessThanOrEqual(19);
  });
});
