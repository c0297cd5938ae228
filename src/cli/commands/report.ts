import type { Command } from 'commander';
import type { SwarmEvent } from '../../engine/events.js';
import type { RunRecord } from '../../engine/ports.js';
import type { TaskState } from '../../engine/task-state.js';
import type { SqliteStore } from '../../store/index.js';
import { formatDuration } from '../../util/duration.js';
import { renderHtml } from '../../report/html.js';
import { renderMarkdown } from '../../report/markdown.js';
import { EXIT } from '../exit.js';
import { formatRecordStatus } from '../../report/record-status.js';
import { renderRecordMarkdown } from '../../report/record-markdown.js';
import { loadOrReport } from '../project.js';
import { specFileFor, statusFromRemote } from '../record-source.js';
import { collectSummary } from '../run-summary.js';
import { openState, pickRun } from '../run-state.js';

/**
 * `swarm report --json` prints one object. Times are milliseconds, measured from the
 * events of the run's latest invocation (a resumed run counts from its resume):
 *
 * {
 *   "version": 1,
 *   "run": { name, status, concurrency, tasks, merged, wallMs },
 *   "lowerBound": { criticalPathMs, criticalPath: [ids], workMs, workPerSlotMs, ms, ratio },
 *   "totals": { slotWaitMs, leaseWaitMs, mergeWaitMs, agentMs, checkMs, overheadMs,
 *               overhead: { startMs, afterAgentMs, mergeMs } },
 *   "criticalPathOverheadMs": n,
 *   "tasks": [ { id, state, dependsOn, workMs, agentMs, checkMs, slotWaitMs, leaseWaitMs,
 *                mergeWaitMs, overheadMs, startMs, afterAgentMs, mergeMs } ]
 * }
 *
 * Definitions (docs in BENCHMARKS.md):
 * - work: time in the agent's process plus the task's setup and check processes; what
 *   swarm cannot make shorter.
 * - lowerBound.ms: max(critical path of work along depends_on, total work / concurrency).
 *   No schedule finishes sooner; `ratio` is wall time over it.
 * - slot, lease and merge waits: time in `ready`, `waiting` and `queued`.
 * - overhead: swarm's own time while the task held a slot or the merge queue: `starting`
 *   (lease, worktree) minus setup, `running`/`checking`/`resolving` minus the agent and
 *   check processes (prompt, commit, audit), and `merging` (the merge, merge.check included).
 */
export interface ReportJson {
  readonly version: 1;
  readonly run: {
    readonly name: string;
    readonly status: RunRecord['status'];
    readonly concurrency: number;
    readonly tasks: number;
    readonly merged: number;
    readonly wallMs: number;
  };
  readonly lowerBound: {
    readonly criticalPathMs: number;
    readonly criticalPath: readonly string[];
    readonly workMs: number;
    readonly workPerSlotMs: number;
    readonly ms: number;
    readonly ratio: number;
  };
  readonly totals: Omit<TaskReport, 'id' | 'state' | 'dependsOn' | 'workMs' | 'startMs' | 'afterAgentMs' | 'mergeMs'> & {
    readonly overhead: { readonly startMs: number; readonly afterAgentMs: number; readonly mergeMs: number };
  };
  readonly criticalPathOverheadMs: number;
  readonly tasks: readonly TaskReport[];
}

export interface TaskReport {
  readonly id: string;
  readonly state: TaskState;
  readonly dependsOn: readonly string[];
  readonly workMs: number;
  readonly agentMs: number;
  readonly checkMs: number;
  readonly slotWaitMs: number;
  readonly leaseWaitMs: number;
  readonly mergeWaitMs: number;
  readonly overheadMs: number;
  readonly startMs: number;
  readonly afterAgentMs: number;
  readonly mergeMs: number;
}

export function register(program: Command): void {
  program
    .command('report')
    .description("where a run's time went: wall time against the critical path, waits for slots, leases and merges, swarm's own overhead")
    .argument('[name]', 'the run (default: the only run, or the most recent one); with --remote, its swarm file (default ./swarm.yaml)')
    .option('--format <format>', 'text | json | markdown | html', 'text')
    .option('--json', 'the same as --format json')
    .option(
      '--remote <name>',
      "fetch the run's integration branch and refs/swarm/<run>/ from this remote and summarize the whole run from them (text, json or markdown)",
    )
    .addHelpText(
      'after',
      `
Examples:
  swarm report
  swarm report api-refactor --json | jq '.lowerBound.ratio'
  swarm report --format markdown > summary.md && gh pr create --body-file summary.md
  swarm report --format html > report.html     # one page, no network: timeline, task graph
  swarm report swarm.yaml --format markdown --remote origin   # a sharded run's summary, from any clone

Work is the time in agents, setup and checks. The lower bound is the longest chain of work
along depends_on, or all work spread over the slots, whichever is longer. The markdown is
the job summary swarm writes in GitHub Actions; the html page draws the timeline (waits
and the critical path marked) and the task graph. With --remote, NAME may be the swarm file
(default ./swarm.yaml): the report shows what git records (each task's state and shard,
the failures), not time or cost, which stay in each runner's state.db.`,
    )
    .action(async (name: string | undefined, opts: { json?: boolean; format: string; remote?: string }) => {
      const format = opts.json === true ? 'json' : opts.format;
      process.exitCode = opts.remote !== undefined ? await remoteReport(name, format, opts.remote) : await reportCommand(name, format);
    });
}

const FORMATS = ['text', 'json', 'markdown', 'html'];

async function reportCommand(name: string | undefined, format: string): Promise<number> {
  if (!FORMATS.includes(format)) {
    process.stderr.write(`swarm report: --format: expected text, json, markdown or html, got "${format}"\n`);
    return EXIT.badInput;
  }
  const state = await openState(process.cwd());
  if (!state.ok) {
    process.stderr.write(`swarm report: ${state.error}\n`);
    return EXIT.badInput;
  }
  const { store, stateDir } = state.value;
  try {
    const picked = pickRun(store, name);
    if (!picked.ok) {
      process.stderr.write(`swarm report: ${picked.error}\n`);
      return EXIT.badInput;
    }
    const report = collectReport(store!, picked.value);
    if (report === undefined) {
      process.stderr.write(`swarm report: the run ${picked.value.name} has no recorded start; nothing to report\n`);
      return EXIT.badInput;
    }
    if (format === 'markdown' || format === 'html') {
      const summary = collectSummary(store!, picked.value, stateDir);
      if (summary === undefined) return EXIT.badInput;
      process.stdout.write(format === 'html' ? renderHtml(summary) : renderMarkdown(summary));
      return EXIT.ok;
    }
    process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

/** `--remote`: the run from the remote's record, as status shows it (text, json) or for a PR body (markdown). */
async function remoteReport(arg: string | undefined, format: string, remote: string): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`swarm report: ${message}\n`);
    return EXIT.badInput;
  };
  if (!FORMATS.includes(format)) return fail(`--format: expected text, json, markdown or html, got "${format}"`);
  if (format === 'html')
    return fail('--remote: --format html needs the timeline, which only the state.db of a runner has; expected --format text, json or markdown');
  const state = await openState(process.cwd());
  if (!state.ok) return fail(state.error);
  const { store, root } = state.value;
  try {
    const file = specFileFor(arg, store);
    if (!file.ok) return fail(`--remote: ${file.error}`);
    const spec = loadOrReport(file.value);
    if (spec === undefined) return EXIT.badInput;
    const s = await statusFromRemote(root, spec, remote);
    if (!s.ok) return fail(s.error);
    process.stdout.write(
      format === 'markdown' ? renderRecordMarkdown(s.value) : format === 'json' ? `${JSON.stringify(s.value, null, 2)}\n` : formatRecordStatus(s.value),
    );
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

export function collectReport(store: SqliteStore, run: RunRecord): ReportJson | undefined {
  const start = store.lastEvent(run.name, 'run', 'started');
  if (start === undefined) return undefined;
  const events = [start.event, ...store.events(run.name, { afterId: start.id }).map((e) => e.event)];
  return analyze(run, events);
}

interface Acc {
  inState: Map<TaskState, number>;
  state: TaskState;
  since: number;
  agentMs: number;
  checkMs: number;
  setupMs: number;
  agentFrom?: number;
  checkFrom?: number;
}

/** The report of one invocation's events, the first being its `run started`. */
export function analyze(run: RunRecord, events: readonly SwarmEvent[]): ReportJson | undefined {
  const first = events[0];
  if (first?.type !== 'run' || first.reason !== 'started') return undefined;
  const startedAt = first.at;
  const finished = events.find((e) => e.type === 'run' && e.reason === 'finished');
  const endAt = finished?.at ?? events[events.length - 1]?.at ?? startedAt;
  const acc = new Map<string, Acc>();
  for (const t of first.tasks) acc.set(t.id, { inState: new Map(), state: t.state, since: startedAt, agentMs: 0, checkMs: 0, setupMs: 0 });
  const add = (a: Acc, s: TaskState, ms: number) => a.inState.set(s, (a.inState.get(s) ?? 0) + Math.max(0, ms));

  for (const e of events) {
    if (!('task' in e)) continue;
    const a = acc.get(e.task);
    if (a === undefined) continue;
    if (e.type === 'task') {
      add(a, a.state, e.at - a.since);
      a.state = e.to;
      a.since = e.at;
    } else if (e.type === 'agent' && e.reason === 'spawned') {
      a.agentFrom = e.at;
    } else if (e.type === 'agent' && e.reason === 'exited' && a.agentFrom !== undefined) {
      a.agentMs += e.at - a.agentFrom;
      a.agentFrom = undefined;
    } else if (e.type === 'check' && e.reason === 'started') {
      a.checkFrom = e.at;
    } else if (e.type === 'check' && a.checkFrom !== undefined) {
      if (e.scope === 'setup') a.setupMs += e.at - a.checkFrom;
      else a.checkMs += e.at - a.checkFrom;
      a.checkFrom = undefined;
    }
  }
  for (const a of acc.values()) add(a, a.state, endAt - a.since);

  const time = (a: Acc, ...states: TaskState[]) => states.reduce((s, st) => s + (a.inState.get(st) ?? 0), 0);
  const tasks: TaskReport[] = first.tasks.map((t) => {
    const a = acc.get(t.id)!;
    const startMs = Math.max(0, time(a, 'starting') - a.setupMs);
    const afterAgentMs = Math.max(0, time(a, 'running', 'checking', 'resolving') - a.agentMs - a.checkMs);
    const mergeMs = time(a, 'merging');
    return {
      id: t.id,
      state: a.state,
      dependsOn: [...t.dependsOn].sort(),
      workMs: a.agentMs + a.checkMs + a.setupMs,
      agentMs: a.agentMs,
      checkMs: a.checkMs + a.setupMs,
      slotWaitMs: time(a, 'ready'),
      leaseWaitMs: time(a, 'waiting'),
      mergeWaitMs: time(a, 'queued'),
      overheadMs: startMs + afterAgentMs + mergeMs,
      startMs,
      afterAgentMs,
      mergeMs,
    };
  });

  const { length, path } = heaviestPath(tasks);
  const workMs = tasks.reduce((s, t) => s + t.workMs, 0);
  const workPerSlotMs = workMs / Math.max(1, first.concurrency);
  const bound = Math.max(length, workPerSlotMs);
  const wallMs = endAt - startedAt;
  const sum = (f: (t: TaskReport) => number) => tasks.reduce((s, t) => s + f(t), 0);
  const onPath = new Set(path);
  return {
    version: 1,
    run: {
      name: run.name,
      status: run.status,
      concurrency: first.concurrency,
      tasks: tasks.length,
      merged: tasks.filter((t) => t.state === 'merged').length,
      wallMs,
    },
    lowerBound: {
      criticalPathMs: length,
      criticalPath: path,
      workMs,
      workPerSlotMs: Math.round(workPerSlotMs),
      ms: Math.round(bound),
      ratio: bound > 0 ? round2(wallMs / bound) : 0,
    },
    totals: {
      agentMs: sum((t) => t.agentMs),
      checkMs: sum((t) => t.checkMs),
      slotWaitMs: sum((t) => t.slotWaitMs),
      leaseWaitMs: sum((t) => t.leaseWaitMs),
      mergeWaitMs: sum((t) => t.mergeWaitMs),
      overheadMs: sum((t) => t.overheadMs),
      overhead: { startMs: sum((t) => t.startMs), afterAgentMs: sum((t) => t.afterAgentMs), mergeMs: sum((t) => t.mergeMs) },
    },
    criticalPathOverheadMs: tasks.filter((t) => onPath.has(t.id)).reduce((s, t) => s + t.overheadMs + t.mergeWaitMs, 0),
    tasks,
  };
}

/** The chain of the most work along depends_on (ties to the smaller id), in run order. */
function heaviestPath(tasks: readonly TaskReport[]): { length: number; path: string[] } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const best = new Map<string, { length: number; prev?: string }>();
  // The graph was validated acyclic when the run started; `open` only guards the recursion.
  const open = new Set<string>();
  const visit = (id: string): { length: number; prev?: string } => {
    const known = best.get(id);
    if (known) return known;
    const t = byId.get(id)!;
    let top: { length: number; prev?: string } = { length: t.workMs };
    open.add(id);
    for (const d of t.dependsOn) {
      if (!byId.has(d) || open.has(d)) continue;
      const via = visit(d).length + t.workMs;
      if (via > top.length) top = { length: via, prev: d };
    }
    open.delete(id);
    best.set(id, top);
    return top;
  };
  let end: string | undefined;
  let length = 0;
  for (const t of [...tasks].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const here = visit(t.id).length;
    if (end === undefined || here > length) [end, length] = [t.id, here];
  }
  const path: string[] = [];
  for (let id = end; id !== undefined; id = best.get(id)?.prev) path.unshift(id);
  return { length, path };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function formatReport(r: ReportJson): string {
  const d = (ms: number) => formatDuration(ms).padStart(7);
  const n = Math.max(1, r.run.tasks);
  const row = (label: string, ms: number) => `  ${label.padEnd(44)}${d(ms)}   ${d(ms / n)} a task`;
  const path = r.lowerBound.criticalPath;
  const shown = path.length > 6 ? [...path.slice(0, 3), '...', ...path.slice(-2)] : path;
  return [
    `run ${r.run.name}: ${r.run.status}, ${r.run.merged}/${r.run.tasks} merged, concurrency ${r.run.concurrency}`,
    '',
    `  wall time                                   ${d(r.run.wallMs)}`,
    `  critical path of work                       ${d(r.lowerBound.criticalPathMs)}   ${path.length} task(s): ${shown.join(' -> ')}`,
    `  all work / concurrency                      ${d(r.lowerBound.workPerSlotMs)}`,
    `  wall time / lower bound                     ${r.lowerBound.ratio.toFixed(2).padStart(7)}   (1.00 is as early as the graph allows)`,
    '',
    'where the tasks spent their time (sum over tasks):',
    row('in agents', r.totals.agentMs),
    row('in setup and checks', r.totals.checkMs),
    row('waiting for a slot (ready)', r.totals.slotWaitMs),
    row('waiting for a lease (waiting)', r.totals.leaseWaitMs),
    row('waiting for the merge queue (queued)', r.totals.mergeWaitMs),
    row("swarm's own work", r.totals.overheadMs),
    row('  starting: lease, worktree', r.totals.overhead.startMs),
    row('  around the agent: prompt, commit, audit', r.totals.overhead.afterAgentMs),
    row('  merging (merge.check included)', r.totals.overhead.mergeMs),
    '',
    `on the critical path, swarm's own work and merge waits took ${formatDuration(r.criticalPathOverheadMs)}.`,
    '',
  ].join('\n');
}
