/**
 * `swarm report --format html`: one self-contained page (inline CSS, SVG and a few lines of
 * script; nothing loaded from the network) for people who would rather look than read:
 * the timeline with waits and the critical path, the task graph, the table, the failures.
 */
import { formatDuration } from '../util/duration.js';
import { graphSvg } from './svg-graph.js';
import { esc, ganttSvg } from './svg-gantt.js';
import { type RunSummary, STATE_LABEL } from './summary-model.js';

export function renderHtml(s: RunSummary): string {
  const r = s.run;
  const merged = s.tasks.filter((t) => t.state === 'merged').length;
  const wall = r.endedAt - r.startedAt;
  const title = `swarm run ${r.name}: ${r.outcome}`;
  const legend = ['ready', 'waiting', 'queued', 'starting', 'running', 'checking', 'merging', 'resolving'] as const;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>swarm run <code>${esc(r.name)}</code> <span class="outcome o-${r.outcome}">${esc(r.outcome)}</span></h1>
<p class="facts">${merged} of ${s.tasks.length} tasks merged into <code>${esc(r.into)}</code> from <code>${esc(r.base.slice(0, 10))}</code> ·
${r.resumed ? 'this invocation (resumed) took' : 'took'} ${formatDuration(wall)}${s.lowerBound.ms > 0 ? ` · the graph allows ${formatDuration(s.lowerBound.ms)} (×${s.lowerBound.ratio.toFixed(2)})` : ''}${r.costUsd > 0 ? ` · $${r.costUsd.toFixed(2)}` : ''} · concurrency ${r.concurrency}</p>
</header>
<section>
<h2>Timeline</h2>
<p class="legend">${legend.map((st) => `<span class="key"><svg width="14" height="12"><rect class="bar s-${st}${st === 'ready' || st === 'waiting' || st === 'queued' ? ' wait' : ''}" width="14" height="12"/></svg>${esc(STATE_LABEL[st] ?? st)}</span>`).join(' ')}
<span class="key crit-key">⚑ on the critical path${s.criticalPath.length > 0 ? `: ${s.criticalPath.map(esc).join(' → ')}` : ''}</span></p>
<div class="scroll">${ganttSvg(s)}</div>
</section>
<section>
<h2>Task graph</h2>
<div class="scroll">${graphSvg(s)}</div>
</section>
${tasksHtml(s)}
${failuresHtml(s)}
<p class="hint" id="hint">Point at a task to find it in the timeline, the graph and the table.</p>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Pointing at a task lights it up everywhere on the page; the page marks itself ready (tests look for it). */
const SCRIPT = `
(function () {
  var all = document.querySelectorAll('[data-task]');
  function light(id, on) {
    document.querySelectorAll('[data-task="' + CSS.escape(id) + '"]').forEach(function (el) { el.classList.toggle('hl', on); });
  }
  all.forEach(function (el) {
    el.addEventListener('mouseenter', function () { light(el.getAttribute('data-task'), true); });
    el.addEventListener('mouseleave', function () { light(el.getAttribute('data-task'), false); });
  });
  var bars = document.querySelectorAll('#gantt rect.bar').length;
  document.getElementById('hint').textContent += ' (' + bars + ' bars drawn)';
  document.documentElement.setAttribute('data-ready', String(bars));
})();
`;

function tasksHtml(s: RunSummary): string {
  const rows = s.tasks.map(
    (t) =>
      `<tr class="st-${t.state}${t.critical ? ' crit' : ''}" data-task="${esc(t.id)}"><td>${t.critical ? '⚑ ' : ''}<code>${esc(t.id)}</code>${t.title ? `<br><small>${esc(t.title)}</small>` : ''}</td><td>${t.state}</td><td class="n">${t.attempts}</td><td class="n">${t.durationMs === undefined ? '–' : formatDuration(t.durationMs)}</td><td class="n">${waits(t)}</td><td class="n">${t.costUsd > 0 ? `$${t.costUsd.toFixed(2)}` : '–'}</td><td>${esc(t.detail ?? '')}</td></tr>`,
  );
  return `<section>
<h2>Tasks</h2>
<table><thead><tr><th>task</th><th>state</th><th>attempts</th><th>time</th><th>waited</th><th>cost</th><th>detail</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
</section>`;
}

/** Time the task spent waiting on swarm (slot, lease, merge queue) in the latest invocation. */
function waits(t: RunSummary['tasks'][number]): string {
  const ms = t.segments.filter((g) => g.state === 'ready' || g.state === 'waiting' || g.state === 'queued').reduce((a, g) => a + g.to - g.from, 0);
  return ms > 0 ? formatDuration(ms) : '–';
}

function failuresHtml(s: RunSummary): string {
  const failed = s.tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted');
  if (failed.length === 0) return '';
  const items = failed.map(
    (t) =>
      `<h3 data-task="${esc(t.id)}"><code>${esc(t.id)}</code>: ${t.state} after ${t.attempts} attempt${t.attempts === 1 ? '' : 's'}</h3>\n<p>${esc(t.detail ?? t.state)}</p>${t.tail && t.tail.length > 0 ? `\n<details open><summary>the end of its log (<code>swarm logs ${esc(t.id)}</code>)</summary><pre>${esc(t.tail.join('\n'))}</pre></details>` : ''}`,
  );
  return `<section>\n<h2>Failures</h2>\n${items.join('\n')}\n</section>`;
}

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --crit: #cf222e; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; padding: 8px 10px; overflow: auto; max-height: 420px; border-radius: 6px; }
.facts, .hint, .legend { color: var(--muted); }
.outcome { font-size: 13px; padding: 2px 8px; border-radius: 10px; vertical-align: middle; color: #fff; background: #6e7781; }
.o-success { background: #1a7f37; } .o-failed { background: var(--crit); } .o-budget, .o-usage-limit, .o-interrupted, .o-cancelled { background: #9a6700; }
.scroll { overflow-x: auto; }
.key { display: inline-flex; align-items: center; gap: 4px; margin-right: 10px; } .crit-key { color: var(--crit); }
table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; white-space: nowrap; }
tr.crit td:first-child { color: var(--crit); font-weight: 600; }
.hl, tr.hl td { outline: 2px solid #0969da; background: #ddf4ff; }
svg text { font: 12px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: var(--fg); }
.gantt .axis { fill: var(--muted); font-size: 11px; } .gantt .tick { stroke: #eaeef2; }
.gantt .row.crit .label { fill: var(--crit); font-weight: 600; }
.bar { stroke: none; } .row.crit .bar:not(.wait) { stroke: var(--crit); stroke-width: 2; }
.s-starting { fill: #8c959f; } .s-running { fill: #0969da; } .s-checking { fill: #1b7c83; } .s-merging { fill: #8250df; } .s-resolving { fill: #bc4c00; }
.s-ready { fill: #d0d7de; } .s-waiting { fill: #eac54f; } .s-queued { fill: #a5d6ff; } .bar.wait { stroke: #8c959f; stroke-dasharray: 3 2; stroke-width: 1; }
.graph .edge { fill: none; stroke: #afb8c1; stroke-width: 1.5; } .graph .edge.crit { stroke: var(--crit); stroke-width: 2.5; }
.graph .arrowhead { fill: #8c959f; }
.graph .node rect { fill: #f6f8fa; stroke: #8c959f; stroke-width: 1.2; }
.graph .st-merged rect { fill: #dafbe1; stroke: #1a7f37; } .graph .st-failed rect, .graph .st-conflicted rect { fill: #ffebe9; stroke: var(--crit); }
.graph .st-blocked rect, .graph .st-cancelled rect { fill: #fff8c5; stroke: #9a6700; }
.graph .node.crit rect { stroke: var(--crit); stroke-width: 3; }
`;
