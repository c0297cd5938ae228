// Order matters: React must load between these two (see react-production.ts), which is
// also why this file has no JSX: the JSX runtime import would come first.
import './react-production.js';
import { render } from 'ink';
import { createElement } from 'react';
import type { SwarmEvent } from '../engine/events.js';
import type { Reporter, RunControls } from '../report/reporter.js';
import { App } from './app.js';
import { TuiStore } from './store.js';
import './react-production-end.js';

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
  /**
   * Most frames a second, for the store's notifications and for Ink's writes alike. Each
   * Ink frame of a 120x40 screen costs several ms (layout, then every cell's styles), so
   * 15 — half the 30 that was allowed — keeps a busy run at a fraction of one core while a
   * person still sees every change within a fifteenth of a second.
   * @default 15
   */
  readonly maxFps?: number;
  /** How often the spinner turns and elapsed times move, in ms. @default 125 */
  readonly tickMs?: number;
}

/** NO_COLOR is honoured when set to anything but the empty string (no-color.org). */
export function noColorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/**
 * The Ink TUI as a Reporter. Events go to a store outside React, which tells the app at
 * most `maxFps` times a second; Ink writes at most as many frames. Ink does not exit on
 * Ctrl-C: the app turns it into `controls.stop(true)`.
 */
export function createTuiReporter(options: TuiReporterOptions): Reporter {
  const maxFps = options.maxFps ?? 15;
  const store = new TuiStore({ maxPerSecond: maxFps, ...(options.now === undefined ? {} : { now: options.now }) });
  const color = !(options.noColor ?? noColorFromEnv());
  const instance = render(createElement(App, { store, controls: options.controls, file: options.file, color }), {
    stdout: options.stdout,
    stdin: options.stdin,
    exitOnCtrlC: false,
    // Patching the console is global: only when the TUI owns the process's own terminal.
    patchConsole: options.stdout === process.stdout,
    maxFps,
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
