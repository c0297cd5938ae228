/**
 * The run summary as GitHub-flavoured Markdown: the job summary of `swarm run` in GitHub
 * Actions, and `swarm report --format markdown` (a pull request body: `gh pr create
 * --body-file`). The timeline is a Mermaid Gantt chart, which GitHub renders.
 */
import { formatDuration } from '../util/duration.js';
import { type RunSummary, STATE_LABEL, type SummaryTask, WAIT_STATES } from './summary-model.js';

export interface MarkdownOptions {
  /** Most bytes (UTF-8) the text may take; parts are cut, and the cut said, to fit. @default no limit */
  readonly maxBytes?: number;
}

/** Mermaid refuses a diagram longer than its maxTextSize (50,000 characters by default, as on GitHub). */
const CHART_CHARS = 45_000;
/** Lines of a failed task's log shown when nothing has to be cut. */
const TAIL_LINES = 40;

/** How much to show; each step of `renderMarkdown`'s fitting shows less. */
interface Cut {
  readonly tailLines: number;
  readonly chart: boolean;
  readonly rows: number;
  readonly failures: number;
}

export function renderMarkdown(s: RunSummary, opts: MarkdownOptions = {}): string {
  const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const failures = s.tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted');
  const full: Cut = { tailLines: TAIL_LINES, chart: true, rows: s.tasks.length, failures: failures.length };
  const fits = (cut: Cut) => Buffer.byteLength(render(s, cut, full)) <= max;
  if (fits(full)) return render(s, full, full);
  // Shorter tails first, then no chart, then fewer rows and failures, largest that fits.
  for (const cut of [
    { ...full, tailLines: 10 },
    { ...full, tailLines: 0 },
    { ...full, tailLines: 0, chart: false },
  ]) {
    if (fits(cut)) return render(s, cut, full);
  }
  const bare: Cut = { tailLines: 0, chart: false, rows: 0, failures: 0 };
  const rows = largest(s.tasks.length, (n) => fits({ ...bare, rows: n }));
  const shown = largest(failures.length, (n) => fits({ ...bare, rows, failures: n }));
  const text = render(s, { ...bare, rows, failures: shown }, full);
  // Only a run name or branch longer than the room is left: cut bytes, at a character.
  return Buffer.byteLength(text) <= max
    ? text
    : Buffer.from(text)
        .subarray(0, Math.max(0, max))
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}

/** The largest n in 0..hi with ok(n), for ok true up to some point and false after it. */
function largest(hi: number, ok: (n: number) => boolean): number {
  let lo = 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function render(s: RunSummary, cut: Cut, full: Cut): string {
  const r = s.run;
  const merged = s.tasks.filter((t) => t.state === 'merged').length;
  const wall = r.endedAt - r.startedAt;
  const out: string[] = [];
  out.push(`## swarm run \`${r.name}\`: ${OUTCOME[r.outcome]}`, '');
  out.push(
    [
      `**${merged} of ${s.tasks.length} tasks merged** into \`${r.into}\` (from \`${r.base.slice(0, 10)}\`)`,
      `${r.resumed ? 'this invocation (resumed) took' : 'took'} ${formatDuration(wall)}${s.lowerBound.ms > 0 ? ` (the graph allows ${formatDuration(s.lowerBound.ms)}: ×${s.lowerBound.ratio.toFixed(2)})` : ''}`,
      ...(r.costUsd > 0 ? [`$${r.costUsd.toFixed(2)}`] : []),
      `concurrency ${r.concurrency}`,
    ].join(' · '),
    '',
  );

  const notes: string[] = [];
  if (cut.tailLines < full.tailLines)
    notes.push(cut.tailLines === 0 ? 'the failures without their logs' : `the last ${cut.tailLines} lines of each failure's log`);
  if (!cut.chart) notes.push('no timeline');
  if (cut.rows < s.tasks.length) notes.push(`${cut.rows} of ${s.tasks.length} tasks in the table`);
  if (cut.failures < full.failures) notes.push(`${cut.failures} of ${full.failures} failures`);
  if (notes.length > 0) {
    out.push(
      `> [!NOTE]\n> Shortened to fit GitHub's 1 MiB step summary: ${notes.join(', ')}. \`swarm status\`, \`swarm logs TASK\` and \`swarm report --format html\` have it all.`,
      '',
    );
  }

  if (cut.rows > 0) {
    out.push('| task | state | attempts | time | cost | detail |', '| --- | --- | ---: | ---: | ---: | --- |');
    for (const t of s.tasks.slice(0, cut.rows)) {
      out.push(
        `| \`${t.id}\`${t.critical ? ' ⚑' : ''} | ${STATE_ICON[t.state] ?? ''} ${t.state} | ${t.attempts} | ${t.durationMs === undefined ? '–' : formatDuration(t.durationMs)} | ${t.costUsd > 0 ? `$${t.costUsd.toFixed(2)}` : '–'} | ${cell(t.detail ?? '')} |`,
      );
    }
    if (cut.rows < s.tasks.length) out.push(`| … | ${s.tasks.length - cut.rows} more | | | | |`);
    out.push('');
    if (s.tasks.some((t) => t.critical)) out.push(`⚑ on the critical path: ${s.criticalPath.map((id) => `\`${id}\``).join(' → ')}`, '');
  }

  const failures = s.tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted').slice(0, cut.failures);
  if (failures.length > 0) {
    out.push('### Failures', '');
    for (const t of failures) out.push(...failure(t, cut.tailLines));
  }

  if (cut.chart) {
    const chart = gantt(s);
    if (chart !== undefined) out.push('### Timeline', '', chart, '');
  }
  return `${out.join('\n')}\n`;
}

function failure(t: SummaryTask, tailLines: number): string[] {
  const out = [`#### \`${t.id}\`: ${t.state} after ${t.attempts} attempt${t.attempts === 1 ? '' : 's'}`, '', text(t.detail ?? t.state), ''];
  const tail = (t.tail ?? []).slice(-tailLines);
  if (tailLines > 0 && tail.length > 0) {
    const body = tail.join('\n');
    const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
    out.push(
      `<details><summary>the last ${tail.length === 1 ? 'line' : `${tail.length} lines`} of its log (<code>swarm logs ${t.id}</code>)</summary>`,
      '',
      `${fence}text`,
      body,
      fence,
      '',
      '</details>',
      '',
    );
  } else {
    out.push(`See \`swarm logs ${t.id}\`.`, '');
  }
  return out;
}

/**
 * The latest invocation as a Mermaid Gantt chart: a section per task, a bar per stretch in
 * one state, waits greyed (`done`), work on the critical path red (`crit`). Absolute times
 * (`dateFormat x`) so the axis shows the viewer's clock. Undefined when nothing ran.
 */
export function gantt(s: RunSummary, maxChars = CHART_CHARS): string | undefined {
  const drawn = s.tasks.filter((t) => t.segments.length > 0);
  if (drawn.length === 0) return undefined;
  const head = ['```mermaid', 'gantt', `  title ${s.run.name}: the latest invocation`, '  dateFormat x', '  axisFormat %H:%M:%S', '  todayMarker off'];
  const sections = drawn
    .map((t) => ({
      t,
      first: t.segments[0]!.from,
      text: [
        `  section ${t.id}${t.critical ? ' ⚑' : ''}`,
        ...t.segments.map((g) => {
          const tag = WAIT_STATES.has(g.state) ? 'done, ' : t.critical ? 'crit, ' : '';
          return `  ${mermaidText(STATE_LABEL[g.state] ?? g.state)} :${tag}${Math.round(g.from)}, ${Math.round(Math.max(g.to, g.from + 1))}`;
        }),
      ].join('\n'),
    }))
    .sort((a, b) => a.first - b.first || (a.t.id < b.t.id ? -1 : 1));
  // Too long for Mermaid: the critical path first, then the earliest tasks, as many as fit.
  let room = maxChars - head.join('\n').length - 200;
  const keep = new Set<string>();
  for (const x of [...sections.filter((x) => x.t.critical), ...sections.filter((x) => !x.t.critical)]) {
    if (x.text.length + 1 > room) continue;
    room -= x.text.length + 1;
    keep.add(x.t.id);
  }
  const kept = sections.filter((x) => keep.has(x.t.id));
  const left = sections.length - kept.length;
  const chart = [...head, ...kept.map((x) => x.text), '```'].join('\n');
  return left > 0 ? `${chart}\n\n${left} task${left === 1 ? '' : 's'} left out of the chart (Mermaid's size limit).` : chart;
}

const OUTCOME: Readonly<Record<RunSummary['run']['outcome'], string>> = {
  success: '✅ every task merged',
  failed: '❌ failed',
  cancelled: '⏹ stopped (resumable)',
  budget: '💸 budget spent (resumable)',
  'usage-limit': '⏸ usage limit reached (resumable: run again after the reset)',
  interrupted: '⚠ interrupted (resumable)',
  running: '⏳ running',
};

const STATE_ICON: Readonly<Partial<Record<string, string>>> = {
  merged: '✅',
  failed: '❌',
  conflicted: '⚔️',
  blocked: '⛔',
  cancelled: '⏹',
};

/** Mermaid task names end at `:` and lines at `;` or `#`. */
function mermaidText(s: string): string {
  return s.replace(/[:;#]/g, ' ');
}

/** Plain text for a paragraph: no HTML, no accidental emphasis. */
function text(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

function cell(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return text(one.length > 200 ? `${one.slice(0, 199)}…` : one);
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}
