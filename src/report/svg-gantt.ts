/**
 * The run's timeline as inline SVG, for the HTML report: a row per task that ran, a bar
 * per stretch in one state. Waits (for a slot, a lease, the merge queue) are pale and dashed; the
 * tasks on the critical path are marked ⚑ and their bars outlined red.
 */
import { formatDuration } from '../util/duration.js';
import { type RunSummary, STATE_LABEL, WAIT_STATES } from './summary-model.js';

const LABEL_W = 180;
const CHART_W = 820;
const ROW_H = 24;
const BAR_H = 16;
const AXIS_H = 26;

export function ganttSvg(s: RunSummary): string {
  const rows = s.tasks.filter((t) => t.segments.length > 0).sort((a, b) => a.segments[0]!.from - b.segments[0]!.from || (a.id < b.id ? -1 : 1));
  if (rows.length === 0) return '<p class="empty">No task ran in the latest invocation.</p>';
  const t0 = s.run.startedAt;
  const span = Math.max(1, s.run.endedAt - t0);
  const x = (at: number) => LABEL_W + ((at - t0) / span) * CHART_W;
  const height = AXIS_H + rows.length * ROW_H + 8;
  const width = LABEL_W + CHART_W + 20;
  const out: string[] = [
    `<svg id="gantt" class="gantt" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="timeline of the run">`,
  ];
  const step = tickStep(span);
  for (let at = 0; at <= span; at += step) {
    const tx = x(t0 + at).toFixed(1);
    out.push(
      `<line class="tick" x1="${tx}" y1="${AXIS_H - 6}" x2="${tx}" y2="${height}"/>`,
      `<text class="axis" x="${tx}" y="${AXIS_H - 10}" text-anchor="middle">${at === 0 ? '0' : `+${formatDuration(at)}`}</text>`,
    );
  }
  rows.forEach((t, i) => {
    const y = AXIS_H + i * ROW_H;
    out.push(
      `<g class="row${t.critical ? ' crit' : ''}" data-task="${esc(t.id)}">`,
      `<text class="label" x="${LABEL_W - 8}" y="${y + ROW_H / 2 + 4}" text-anchor="end">${t.critical ? '⚑ ' : ''}${esc(clip(t.id, 24))}</text>`,
    );
    for (const g of t.segments) {
      const wait = WAIT_STATES.has(g.state);
      const bx = x(g.from);
      const w = Math.max(1, x(g.to) - bx);
      out.push(
        `<rect class="bar s-${g.state}${wait ? ' wait' : ''}" data-task="${esc(t.id)}" data-state="${g.state}" x="${bx.toFixed(1)}" y="${y + (ROW_H - BAR_H) / 2}" width="${w.toFixed(1)}" height="${BAR_H}"><title>${esc(t.id)}: ${esc(STATE_LABEL[g.state] ?? g.state)}, ${formatDuration(g.to - g.from)} (from +${formatDuration(g.from - t0)})</title></rect>`,
      );
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n');
}

/** A tick every 1, 2, 5, 10, 15 or 30 s, m or h: the smallest giving at most ten. */
function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30].flatMap((n) => [n * 1000, n * 60_000, n * 3_600_000]).sort((a, b) => a - b);
  return steps.find((st) => span / st <= 10) ?? Math.ceil(span / 10);
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
