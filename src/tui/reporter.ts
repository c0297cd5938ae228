import { render } from 'ink';
import type { SwarmEvent } from '../engine/events.js';
import type { Reporter, RunControls } from '../report/reporter.js';
import { App } from './app.js';
import { TuiStore } from './store.js';

export interface TuiReporterOptions {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  readonly controls: RunControls;
  /** The run's file as the user named it, for the resume command in the summary. */
  readonly file: string;
  /** No colours (glyphs stay). @default true when the NO_COLOR variable is set and not empty */
  readonly noColor?: boolean;
  /** The clock (tests). @default Date.now */
  readonly now?: () => number;
  /** How often the spinner turns and elapsed times move, in ms. @default 125 */
  readonly tickMs?: number;
}

/** NO_COLOR is honoured when set to anything but the empty string (no-color.org). */
export function noColorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/**
 * The Ink TUI as a Reporter. Events go to a store outside React, which tells the app at
 * most 30 times a second; Ink itself renders at most 30 frames a second. Ink does not
 * exit on Ctrl-C: the app turns it into `controls.stop(true)`.
 */
export function createTuiReporter(options: TuiReporterOptions): Reporter {
  const store = new TuiStore(options.now === undefined ? {} : { now: options.now });
  const color = !(options.noColor ?? noColorFromEnv());
  const instance = render(<App store={store} controls={options.controls} file={options.file} color={color} />, {
    stdout: options.stdout,
    stdin: options.stdin,
    exitOnCtrlC: false,
    // Patching the console is global: only when the TUI owns the process's own terminal.
    patchConsole: options.stdout === process.stdout,
    maxFps: 30,
  });
  const ticker = setInterval(() => store.tick(), options.tickMs ?? 125);
  ticker.unref();
  let closing: Promise<void> | undefined;
  return {
    handle(event: SwarmEvent): void {
      if (closing === undefined) store.handle(event);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(ticker);
        store.close();
        // Let React commit the closed view before Ink writes its last frame and lets go.
        await new Promise<void>((resolve) => setImmediate(resolve));
        instance.unmount();
        await instance.waitUntilExit();
        store.dispose();
      })();
      return closing;
    },
  };
}
