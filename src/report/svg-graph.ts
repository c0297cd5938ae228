/**
 * The task graph as inline SVG, for the HTML report: a column per depth (longest chain of
 * dependencies before the task), a box per task coloured by how it ended, an arrow per
 * dependency; the critical path's boxes and arrows are red.
 */
import { clip, esc } from './svg-gantt.js';
import type { RunSummary } from './summary-model.js';

const NODE_W = 150;
const NODE_H = 28;
const COL_GAP = 60;
const ROW_GAP = 14;
const PAD = 10;

export function graphSvg(s: RunSummary): string {
  const ids = new Set(s.tasks.map((t) => t.id));
  const deps = new Map(s.tasks.map((t) => [t.id, t.dependsOn.filter((d) => ids.has(d))]));
  const depth = new Map<string, number>();
  const open = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    // The graph was checked acyclic when the run started; `open` only guards the recursion.
    open.add(id);
    const d = Math.max(-1, ...(deps.get(id) ?? []).filter((x) => !open.has(x)).map(depthOf)) + 1;
    open.delete(id);
    depth.set(id, d);
    return d;
  };
  const columns: string[][] = [];
  for (const t of s.tasks) (columns[depthOf(t.id)] ??= []).push(t.id);
  // One pass of barycentres: a task sits near the tasks it depends on, fewer arrows cross.
  const row = new Map<string, number>();
  columns.forEach((col, c) => {
    if (c > 0) {
      const weight = (id: string) => {
        const ys = (deps.get(id) ?? []).map((d) => row.get(d) ?? 0);
        return ys.length === 0 ? 0 : ys.reduce((a, b) => a + b, 0) / ys.length;
      };
      col.sort((a, b) => weight(a) - weight(b));
    }
    col.forEach((id, r) => {
      row.set(id, r);
    });
  });
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const pos = (id: string) => ({ x: PAD + depthOf(id) * (NODE_W + COL_GAP), y: PAD + (row.get(id) ?? 0) * (NODE_H + ROW_GAP) });
  const path = s.criticalPath;
  const critEdge = new Set(path.slice(1).map((id, i) => `${path[i]}>${id}`));
  const critical = new Set(path);

  const out = [
    `<svg id="graph" class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="task graph">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>',
  ];
  for (const t of s.tasks) {
    for (const d of deps.get(t.id) ?? []) {
      const a = pos(d);
      const b = pos(t.id);
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      // An arrow past a column runs in the gap between rows (free in every column), not through its boxes.
      const lane = b.y - ROW_GAP / 2;
      const d2 =
        x2 - x1 > COL_GAP + NODE_W
          ? `M${x1} ${y1}C${x1 + 25} ${y1} ${x1 + 15} ${lane} ${x1 + 40} ${lane}L${x2 - 40} ${lane}C${x2 - 15} ${lane} ${x2 - 25} ${y2} ${x2} ${y2}`
          : `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
      out.push(
        `<path class="edge${critEdge.has(`${d}>${t.id}`) ? ' crit' : ''}" data-from="${esc(d)}" data-task="${esc(t.id)}" d="${d2}" marker-end="url(#arrow)"/>`,
      );
    }
  }
  for (const t of s.tasks) {
    const p = pos(t.id);
    out.push(
      `<g class="node st-${t.state}${critical.has(t.id) ? ' crit' : ''}" data-task="${esc(t.id)}">`,
      `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="5"/>`,
      `<text x="${p.x + NODE_W / 2}" y="${p.y + NODE_H / 2 + 4}" text-anchor="middle">${esc(clip(t.id, 20))}</text>`,
      `<title>${esc(t.id)}: ${t.state}${t.detail ? ` (${esc(t.detail)})` : ''}</title>`,
      '</g>',
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
