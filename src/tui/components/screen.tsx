import { Box } from 'ink';
import type { UiState } from '../ui-state.js';
import type { RunView, TaskView } from '../view-model.js';
import { Footer } from './footer.js';
import { Header, headerNotices } from './header.js';
import { Help } from './help.js';
import { Leases, leaseRows } from './leases.js';
import { LogTail } from './log-tail.js';
import { LogView } from './log-view.js';
import { MergeQueue } from './merge-queue.js';
import { Summary } from './summary.js';
import { TaskTable } from './task-table.js';

export interface ScreenProps {
  readonly view: RunView;
  readonly ui: UiState;
  /** The table's rows, filtered and ordered (see `visibleTasks`). */
  readonly visible: readonly TaskView[];
  readonly selected: number;
  readonly width: number;
  /** Terminal rows; the frame stays one shorter, or Ink clears the whole screen on each frame. */
  readonly height: number;
  readonly color: boolean;
  readonly file: string;
}

export interface Layout {
  readonly header: number;
  readonly table: number;
  readonly leases: number;
  readonly tail: number;
  /** Rows of the log view or help in place of the table, merge queue, leases and tail. */
  readonly body: number;
}

const MAX_LEASE_ROWS = 4;

/**
 * Splits the terminal's rows: header and footer first, then the table gets what it needs
 * (up to every task), the log tail what is left within reason, the leases a few lines.
 */
export function layoutFor(view: RunView, rows: number, taskRows: number): Layout {
  const usable = Math.max(8, rows - 1);
  const header = 2 + headerNotices(view).length;
  const footer = 1;
  const body = Math.max(3, usable - header - footer);
  const leases = leaseRows(view.leases.length, usable >= 30 ? MAX_LEASE_ROWS : usable >= 20 ? 2 : 1);
  const merge = 1;
  const avail = Math.max(2, body - merge - leases);
  const wantedTail = avail >= 24 ? 10 : avail >= 16 ? 6 : avail >= 10 ? 4 : 0;
  const table = Math.max(2, Math.min(taskRows + 1, avail - wantedTail));
  const tail = Math.max(0, Math.min(12, avail - table));
  return { header, table, leases, tail, body };
}

/** The whole frame, as a pure function of the run and the person's choices. */
export function Screen({ view, ui, visible, selected, width, height, color, file }: ScreenProps) {
  const layout = layoutFor(view, height, visible.length);
  const header = <Header view={view} width={width} color={color} />;
  if (view.closed) {
    return (
      <Box flexDirection="column" width={width}>
        {header}
        <Summary view={view} file={file} width={width} color={color} />
      </Box>
    );
  }
  const footer = <Footer view={view} ui={ui} width={width} color={color} />;
  // The log view stays on its task even when a filter or a state change moves it off the table.
  const selectedTask = (ui.mode === 'log' ? view.tasks.find((t) => t.id === ui.selected) : undefined) ?? visible[selected];
  if (ui.mode === 'help' || ui.mode === 'log') {
    return (
      <Box flexDirection="column" width={width}>
        {header}
        {ui.mode === 'help' ? (
          <Help width={width} color={color} />
        ) : (
          <LogView task={selectedTask} offset={ui.logOffset} height={layout.body} width={width} color={color} />
        )}
        {footer}
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={width}>
      {header}
      <TaskTable
        tasks={visible}
        all={view.tasks}
        selected={selected}
        height={layout.table}
        width={width}
        now={view.now}
        frame={view.frame}
        color={color}
        filter={ui.filter}
      />
      <MergeQueue entries={view.mergeQueue} width={width} frame={view.frame} color={color} />
      <Leases leases={view.leases} rows={layout.leases} width={width} color={color} />
      <LogTail task={selectedTask} height={layout.tail} width={width} color={color} />
      {footer}
    </Box>
  );
}
