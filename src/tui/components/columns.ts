import type { TaskView } from '../view-model.js';

/** Widths of the table's columns at a terminal width; 0 hides a column. */
export interface Columns {
  readonly id: number;
  readonly title: number;
  readonly attempt: number;
  readonly time: number;
  readonly turns: number;
  readonly cost: number;
  readonly action: number;
}

/** Marker and glyph: `›⠋ `. */
export const LEAD = 3;

/**
 * Narrow terminals drop the title, then turns and cost; what is left goes to the title
 * and the current action, the two columns a person reads.
 */
export function columnsFor(width: number, tasks: readonly TaskView[]): Columns {
  // A template's tasks are indented one space under its row.
  const longest = tasks.reduce((n, t) => Math.max(n, Array.from(t.id).length + (t.template === undefined ? 0 : 1)), 2);
  const id = Math.min(width >= 100 ? 20 : width >= 60 ? 14 : 10, Math.max(4, longest));
  const attempt = 2;
  const time = 6;
  const turns = width >= 60 ? 5 : 0;
  const cost = width >= 50 ? 6 : 0;
  const gaps = [id, attempt, time, turns, cost].filter((w) => w > 0).length; // one space after each
  const rest = Math.max(0, width - LEAD - id - attempt - time - turns - cost - gaps);
  const title = width >= 60 ? Math.min(36, Math.floor(rest * 0.4)) : 0;
  const action = Math.max(0, rest - title - (title > 0 ? 1 : 0));
  return { id, title, attempt, time, turns, cost, action };
}
