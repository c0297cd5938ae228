import { unreachable } from '../util/result.js';

/** What the person at the keyboard chose; the run's own state lives in the store. */
export interface UiState {
  readonly mode: 'table' | 'log' | 'help';
  /** The selected task's id; selection follows a task when rows move. */
  readonly selected: string | undefined;
  /** `f`: only failed or running tasks. */
  readonly filter: boolean;
  /** Log view: lines scrolled up from the bottom (0 follows new lines). */
  readonly logOffset: number;
  readonly stop: 'none' | 'graceful' | 'force';
}

export const INITIAL_UI: UiState = { mode: 'table', selected: undefined, filter: false, logOffset: 0, stop: 'none' };

/** The parts of Ink's `Key` the app reacts to. */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly ctrl?: boolean;
}

/** What a key press needs to know about the screen. */
export interface KeyContext {
  /** The table's rows' task ids, in order. */
  readonly visible: readonly string[];
  /** Rows a page key moves. */
  readonly page: number;
  /** Lines in the log view's task's log, so scrolling stops at its top. */
  readonly logLines: number;
}

export interface KeyOutcome {
  readonly ui: UiState;
  /** Ask the run to stop: `false` gracefully, `true` killing the agents. */
  readonly stop?: boolean;
  /** `o`: follow this task's log in a new tmux pane. */
  readonly openLog?: string;
}

/** The index of the selected task among `visible`, or 0 when it is not shown. */
export function selectedIndex(ui: UiState, visible: readonly string[]): number {
  const index = ui.selected === undefined ? -1 : visible.indexOf(ui.selected);
  return Math.max(index, 0);
}

/**
 * One key press. Pure, so the whole keyboard map is testable without a terminal; the app
 * performs the returned `stop`.
 */
export function onKey(ui: UiState, input: string, key: KeyPress, context: KeyContext): KeyOutcome {
  const { visible, page } = context;
  // Ctrl-C is read like `q`, as in the plain reporter: first a graceful stop (the run stays
  // resumable), then a kill. A user who hits it by reflex should not lose queued merges.
  if ((input === 'q' && !key.ctrl) || (key.ctrl === true && input === 'c')) {
    if (ui.stop === 'none') return { ui: { ...ui, stop: 'graceful' }, stop: false };
    if (ui.stop === 'graceful') return { ui: { ...ui, stop: 'force' }, stop: true };
    return { ui };
  }
  const up = key.upArrow === true || input === 'k';
  const down = key.downArrow === true || input === 'j';
  switch (ui.mode) {
    case 'help':
      if (key.escape === true || key.return === true || input === '?') return { ui: { ...ui, mode: 'table' } };
      return { ui };
    case 'log': {
      if (key.escape === true || key.return === true) return { ui: { ...ui, mode: 'table', logOffset: 0 } };
      if (input === 'o' && ui.selected !== undefined) return { ui, openLog: ui.selected };
      const step = key.pageUp === true ? page : key.pageDown === true ? -page : up ? 1 : down ? -1 : 0;
      if (input === '?') return { ui: { ...ui, mode: 'help', logOffset: 0 } };
      const top = Math.max(0, context.logLines - page);
      return { ui: { ...ui, logOffset: Math.min(top, Math.max(0, ui.logOffset + step)) } };
    }
    case 'table': {
      if (input === '?') return { ui: { ...ui, mode: 'help' } };
      if (input === 'f') return { ui: { ...ui, filter: !ui.filter } };
      const index = selectedIndex(ui, visible);
      if (input === 'o') {
        const selected = visible[index];
        return selected === undefined ? { ui } : { ui, openLog: selected };
      }
      if (key.return === true) {
        const selected = visible[index];
        return selected === undefined ? { ui } : { ui: { ...ui, mode: 'log', selected, logOffset: 0 } };
      }
      const step = key.pageUp === true ? -page : key.pageDown === true ? page : up ? -1 : down ? 1 : 0;
      if (step === 0 || visible.length === 0) return { ui };
      const next = Math.min(visible.length - 1, Math.max(0, index + step));
      return { ui: { ...ui, selected: visible[next] } };
    }
    default:
      return unreachable(ui.mode);
  }
}
