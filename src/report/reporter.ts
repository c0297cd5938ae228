import type { SwarmEvent } from '../engine/events.js';

/** Anything that shows a run: the TUI, the plain line reporter, the JSON stream. */
export interface Reporter {
  handle(event: SwarmEvent): void;
  /** Flush and tear down (the TUI unmounts and prints its summary). */
  close(): Promise<void>;
}

/** What a reporter may ask of the run (the TUI's `q`); it never calls the engine itself. */
export interface RunControls {
  /** First call: stop gracefully (resumable). `force`: kill the agents now. */
  stop(force: boolean): void;
  /** The TUI's `o`: follow this task's log in a new tmux pane (only when the TUI runs inside tmux). */
  openLog?(task: string): void;
}
