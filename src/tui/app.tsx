import { useInput, useStdin } from 'ink';
import { useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { RunControls } from '../report/reporter.js';
import { layoutFor, Screen } from './components/screen.js';
import { logViewPage } from './components/log-view.js';
import { visibleTasks } from './order.js';
import type { TuiStore } from './store.js';
import { INITIAL_UI, onKey, selectedIndex, type KeyPress, type UiState } from './ui-state.js';
import { useTerminalSize } from './use-terminal-size.js';

/** One key press per character of a multi-character plain input; `\r` is enter. */
export function splitKeys(input: string, key: KeyPress): (readonly [string, KeyPress])[] {
  if (input.length <= 1 || key.ctrl === true || key.escape === true) return [[input, key]];
  return Array.from(input, (ch) => (ch === '\r' ? (['', { return: true }] as const) : ([ch, {}] as const)));
}

export interface AppProps {
  readonly store: TuiStore;
  readonly controls: RunControls;
  /** The run's file, for the resume command in the summary. */
  readonly file: string;
  readonly color: boolean;
  /** Fixed size instead of the terminal's (tests). */
  readonly size?: { readonly columns: number; readonly rows: number };
}

/** Reads the store, keeps the person's choices, turns keys into choices and stop requests. */
export function App({ store, controls, file, color, size }: AppProps) {
  const view = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const terminal = useTerminalSize();
  const { columns, rows } = size ?? terminal;
  const { isRawModeSupported } = useStdin();
  const [ui, setUi] = useState<UiState>(INITIAL_UI);
  const visible = useMemo(() => visibleTasks(view.tasks, ui.filter), [view.tasks, ui.filter]);
  const selected = selectedIndex(
    ui,
    visible.map((t) => t.id),
  );

  // Several keys can arrive in one chunk, before React re-renders: the handler must see
  // the choices the previous key left, not those of the last render. Only the handler
  // changes `ui`, so this ref is never older than the state.
  const uiRef = useRef(ui);
  const latest = useRef({ visible, view, rows });
  latest.current = { visible, view, rows };

  useInput(
    (input, key) => {
      const current = uiRef.current;
      const { visible: rowsNow, view: viewNow, rows: height } = latest.current;
      const layout = layoutFor(viewNow, height, rowsNow.length);
      const logTask = viewNow.tasks.find((t) => t.id === current.selected);
      const page = current.mode === 'log' ? logViewPage(layout.body) : Math.max(1, layout.table - 1);
      let next = current;
      // Typed-ahead or pasted keys arrive as one string: each character is a key press.
      for (const [text, press] of splitKeys(input, key)) {
        const outcome = onKey(next, text, press, {
          visible: rowsNow.map((t) => t.id),
          page,
          logLines: logTask?.log.length ?? 0,
        });
        next = outcome.ui;
        if (outcome.stop !== undefined) controls.stop(outcome.stop);
        if (outcome.openLog !== undefined) controls.openLog?.(outcome.openLog);
      }
      uiRef.current = next;
      if (next !== current) setUi(next);
    },
    { isActive: isRawModeSupported && !view.closed },
  );

  return <Screen view={view} ui={ui} visible={visible} selected={selected} width={columns} height={rows} color={color} file={file} />;
}
