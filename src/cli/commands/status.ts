import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadSpecFile } from '../../config/load.js';
import type { Spec } from '../../config/spec.js';
import type { TaskInfo } from '../../engine/events.js';
import type { RunRecord, TaskRecord } from '../../engine/ports.js';
import { TERMINAL_STATES } from '../../engine/task-state.js';
import { HOST, type AttemptRecord, type SqliteStore } from '../../store/index.js';
import { formatDuration } from '../../util/duration.js';
import { groupCounts } from '../../report/plain.js';
import { alignRows, foldTemplates } from '../../report/task-table.js';
import { EXIT } from '../exit.js';
import { loadOrReport } from '../project.js';
import { isSpecFile, specFileFor, statusFromBranch, statusFromRemote } from '../record-source.js';
import { formatRecordStatus, type RecordStatusJson } from '../../report/record-status.js';
import { openState, pickRun, runnerAlive } from '../run-state.js';

/**
 * `swarm status --json` prints one object (documented in docs/status-json.md; a run shown
 * from its record in git, with `--remote` or when state.db lacks it, prints the
 * RecordStatusJson of src/report/record-status.ts instead, recognised by its `source`):
 *
 * {
 *   "version": 1,
 *   "run": { name, file, status, runner: { pid, host, alive }, base, into,
 *            startedAt, finishedAt?, durationMs, costUsd },
 *   "counts": { "<state>": n, ... },           // only states that occur
 *   "tasks": [ { id, title?, template?, match?, state, dependsOn, attempts, startedAt?, endedAt?,
 *                durationMs?, costUsd, turns, detail?, branch?, worktree?, mergedSha?,
 *                sessionId?, denied?: [ { attempt, tool, summary, suggestion } ], history: [ { attempt, startedAt, endedAt?, durationMs?,
 *                outcome?, exitCode?, costUsd?, turns?, detail?, logFile? } ] } ]
 * }
 *
 * `run.status` is the stored status, except `interrupted`: stored `running` with its
 * runner gone (a crash; `swarm run` resumes it). Times are epoch ms; `durationMs` of an
 * unfinished task or run runs up to now. Tasks are in the file's order. A task a template
 * (for_each) made carries `template` (its name) and `match`; the list stays flat.
 */
export interface StatusJson {
  readonly version: 1;
  readonly run: {
    readonly name: string;
    readonly file: string;
    readonly status: RunRecord['status'] | 'interrupted';
    readonly runner: { readonly pid: number; readonly host: string; readonly alive: boolean };
    readonly base: string;
    readonly into: string;
    readonly startedAt: number;
    readonly finishedAt?: number;
    readonly durationMs: number;
    readonly costUsd: number;
  };
  readonly counts: Readonly<Record<string, number>>;
  readonly tasks: readonly TaskStatus[];
}

export interface TaskStatus {
  readonly id: string;
  readonly title?: string;
  /** Set on a task a template made: the template's name, and the match (the first of a batch). */
  readonly template?: string;
  readonly match?: string;
  readonly state: TaskRecord['state'];
  readonly dependsOn: readonly string[];
  readonly attempts: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly durationMs?: number;
  readonly costUsd: number;
  readonly turns: number;
  /** Why it failed, is blocked or waits; for a pending task, the dependencies not merged yet. */
  readonly detail?: string;
  readonly branch?: string;
  readonly worktree?: string;
  readonly mergedSha?: string;
  readonly sessionId?: string;
  /** Tool calls Claude Code refused the task's agent, oldest first, with the allowed_tools entry that would allow each. */
  readonly denied?: readonly DeniedStatus[];
  readonly history: readonly AttemptStatus[];
}

export interface DeniedStatus {
  readonly attempt: number;
  readonly tool: string;
  readonly summary: string;
  readonly suggestion: string;
}

export interface AttemptStatus {
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly durationMs?: number;
  readonly outcome?: string;
  readonly exitCode?: number;
  readonly costUsd?: number;
  readonly turns?: number;
  readonly detail?: string;
  readonly logFile?: string;
}

export function register(program: Command): void {
  program
    .command('status')
    .description("each task's state, attempts, time, cost and turns, and why it failed or waits")
    .argument('[name]', 'the run, or its swarm file (default: the only run, or the most recent one; with --remote, ./swarm.yaml)')
    .option('--format <format>', 'text | json (see docs/status-json.md)', 'text')
    .option('--json', 'the same as --format json')
    .option('--expand', "list each template's tasks under its row (default: one row per template, with its counts)")
    .option(
      '--remote <name>',
      "fetch the run's integration branch and refs/swarm/<run>/ from this remote, and show the whole run from them (every shard of a sharded run)",
    )
    .addHelpText(
      'after',
      `
Examples:
  swarm status
  swarm status api-refactor --json | jq '.tasks[] | select(.state == "failed") | .detail'
  swarm status swarm.yaml --remote origin      # a sharded or --push run, from any clone

Works from any folder of the repository, and from inside a task's worktree. A run this
clone's state.db does not know is shown from the record on its integration branch, when
there is one ("from the record on swarm/<run>"): what landed, what failed; attempts, time,
cost and logs stay with the clone that ran each task.`,
    )
    .action(async (name: string | undefined, opts: { json?: boolean; format: string; expand?: boolean; remote?: string }) => {
      process.exitCode = await statusCommand(name, { format: opts.json === true ? 'json' : opts.format, expand: opts.expand === true, remote: opts.remote });
    });
}

interface StatusFlags {
  readonly format: string;
  readonly expand: boolean;
  readonly remote: string | undefined;
}

async function statusCommand(arg: string | undefined, flags: StatusFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`swarm status: ${message}\n`);
    return EXIT.badInput;
  };
  if (flags.format !== 'text' && flags.format !== 'json') return fail(`--format: expected text or json, got "${flags.format}"`);
  const json = flags.format === 'json';
  const state = await openState(process.cwd());
  if (!state.ok) return fail(state.error);
  const { store, root } = state.value;
  const printRecord = (s: RecordStatusJson) => process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : formatRecordStatus(s, { expand: flags.expand }));
  try {
    if (flags.remote !== undefined) {
      const file = specFileFor(arg, store);
      if (!file.ok) return fail(`--remote: ${file.error}`);
      const spec = loadOrReport(file.value);
      if (spec === undefined) return EXIT.badInput;
      const s = await statusFromRemote(root, spec, flags.remote);
      if (!s.ok) return fail(s.error);
      printRecord(s.value);
      return EXIT.ok;
    }
    let name = arg;
    let spec: Spec | undefined;
    if (arg !== undefined && isSpecFile(arg)) {
      spec = loadOrReport(arg);
      if (spec === undefined) return EXIT.badInput;
      name = spec.name;
    }
    const picked = pickRun(store, name);
    if (!picked.ok) {
      // Not in state.db (a fresh clone, another machine's run): the record on the branch, if any.
      spec ??= defaultSpec(name);
      const fromGit = spec === undefined ? undefined : await statusFromBranch(root, spec);
      if (fromGit !== undefined) {
        printRecord(fromGit);
        return EXIT.ok;
      }
      process.stderr.write(`swarm status: ${picked.error}\n`);
      return name === undefined ? EXIT.ok : EXIT.badInput;
    }
    const status = collectStatus(store!, picked.value, Date.now());
    process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, Date.now(), { expand: flags.expand }));
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

/** ./swarm.yaml, when it loads and is the run asked for (any run, when none was named). */
function defaultSpec(name: string | undefined): Spec | undefined {
  if (!existsSync('swarm.yaml')) return undefined;
  const loaded = loadSpecFile('swarm.yaml');
  return loaded.ok && (name === undefined || loaded.value.name === name) ? loaded.value : undefined;
}

export function collectStatus(store: SqliteStore, run: RunRecord, now: number): StatusJson {
  const alive = runnerAlive(run, HOST);
  const started = store.lastEvent(run.name, 'run', 'started')?.event;
  const infos = new Map<string, TaskInfo>(started?.type === 'run' && started.reason === 'started' ? started.tasks.map((t) => [t.id, t]) : []);
  const records = store.getTasks(run.name);
  const stateOf = new Map(records.map((r) => [r.task, r.state]));
  const attempts = new Map<string, AttemptRecord[]>();
  for (const a of store.attempts(run.name)) attempts.set(a.task, [...(attempts.get(a.task) ?? []), a]);
  const denied = new Map<string, DeniedStatus[]>();
  for (const { event: e } of store.events(run.name, { type: 'agent', reason: 'denied' })) {
    if (e.type !== 'agent' || e.reason !== 'denied') continue;
    denied.set(e.task, [...(denied.get(e.task) ?? []), { attempt: e.attempt, tool: e.tool, summary: e.summary, suggestion: e.suggestion }]);
  }
  const counts: Record<string, number> = {};
  const tasks = records.map((r): TaskStatus => {
    counts[r.state] = (counts[r.state] ?? 0) + 1;
    const info = infos.get(r.task);
    const dependsOn = [...(info?.dependsOn ?? [])].sort();
    const active = !TERMINAL_STATES.has(r.state) && alive;
    const end = r.endedAt ?? (active ? now : undefined);
    return {
      id: r.task,
      ...(info?.title !== undefined ? { title: info.title } : {}),
      ...(info?.template !== undefined ? { template: info.template, match: info.match ?? '' } : {}),
      state: r.state,
      dependsOn,
      attempts: r.attempts,
      ...opt('startedAt', r.startedAt),
      ...opt('endedAt', r.endedAt),
      ...opt('durationMs', r.startedAt !== undefined && end !== undefined && end >= r.startedAt ? end - r.startedAt : undefined),
      costUsd: r.costUsd,
      turns: r.turns,
      ...opt('detail', detailOf(r, dependsOn, stateOf)),
      ...opt('branch', r.branch),
      ...opt('worktree', r.worktree),
      ...opt('mergedSha', r.mergedSha),
      ...opt('sessionId', r.sessionId),
      ...opt('denied', denied.get(r.task)),
      history: (attempts.get(r.task) ?? []).map((a) => ({
        attempt: a.attempt,
        startedAt: a.startedAt,
        ...opt('endedAt', a.endedAt),
        ...opt('durationMs', a.endedAt !== undefined ? a.endedAt - a.startedAt : alive ? now - a.startedAt : undefined),
        ...opt('outcome', a.outcome),
        ...opt('exitCode', a.exitCode),
        ...opt('costUsd', a.costUsd),
        ...opt('turns', a.turns),
        ...opt('detail', a.detail),
        ...opt('logFile', a.logFile),
      })),
    };
  });
  const status = run.status === 'running' && !alive ? 'interrupted' : run.status;
  return {
    version: 1,
    run: {
      name: run.name,
      file: run.file,
      status,
      runner: { pid: run.pid, host: run.host, alive },
      base: run.baseSha,
      into: run.into,
      startedAt: run.startedAt,
      ...opt('finishedAt', run.finishedAt),
      durationMs: Math.max(0, (run.finishedAt ?? (alive ? now : (latestEnd(records) ?? run.startedAt))) - run.startedAt),
      costUsd: run.costUsd,
    },
    counts,
    tasks,
  };
}

/** Why a task is where it is: the stored reason, or for one still waiting, what it waits for. */
function detailOf(r: TaskRecord, deps: readonly string[], states: ReadonlyMap<string, string>): string | undefined {
  if (r.state === 'pending' || r.state === 'ready') {
    const open = deps.filter((d) => states.get(d) !== 'merged');
    if (r.state === 'pending' && open.length > 0) return `waits for ${open.map((d) => `${d} (${states.get(d) ?? '?'})`).join(', ')}`;
    if (r.state === 'ready') return 'waits for a free slot';
  }
  if (r.state === 'merged') return undefined;
  return r.detail;
}

function latestEnd(records: readonly TaskRecord[]): number | undefined {
  const ends = records.map((r) => r.endedAt).filter((e): e is number => e !== undefined);
  return ends.length > 0 ? Math.max(...ends) : undefined;
}

export function formatStatus(s: StatusJson, now: number, opts: { readonly expand?: boolean } = {}): string {
  const r = s.run;
  const runner =
    r.status === 'running'
      ? `running (pid ${r.runner.pid} on ${r.runner.host})`
      : r.status === 'interrupted'
        ? `interrupted (its runner, pid ${r.runner.pid}, is gone; \`swarm run ${r.file}\` resumes it)`
        : r.status;
  const merged = s.counts.merged ?? 0;
  const lines = [
    `run ${r.name}: ${runner}`,
    `  ${merged}/${s.tasks.length} merged into ${r.into} from ${r.base.slice(0, 10)} · started ${ago(now - r.startedAt)} · took ${formatDuration(r.durationMs)} · $${r.costUsd.toFixed(2)}`,
    `  ${Object.entries(s.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([state, n]) => `${n} ${state}`)
      .join(', ')}`,
    '',
  ];
  const row = (t: TaskStatus, indent = ''): string[] => [
    `${indent}${t.id}`,
    t.state,
    String(t.attempts),
    t.durationMs === undefined ? '-' : formatDuration(t.durationMs),
    t.costUsd > 0 ? `$${t.costUsd.toFixed(2)}` : '-',
    t.turns > 0 ? String(t.turns) : '-',
    (t.detail ?? '').replace(/\s+/g, ' '),
  ];
  const rows = [['TASK', 'STATE', 'ATTEMPTS', 'TIME', 'COST', 'TURNS', 'DETAIL']];
  // A template's tasks fold into one row at the place of its first, with their counts.
  const group = (t: TaskStatus, members: readonly TaskStatus[]): string[] => {
    const cost = members.reduce((n, m) => n + m.costUsd, 0);
    const turns = members.reduce((n, m) => n + m.turns, 0);
    return [
      `${t.template} (${members.length})`,
      'template',
      String(members.reduce((n, m) => n + m.attempts, 0)),
      '-',
      cost > 0 ? `$${cost.toFixed(2)}` : '-',
      turns > 0 ? String(turns) : '-',
      groupCounts(members.map((m) => m.state)),
    ];
  };
  rows.push(...foldTemplates(s.tasks, row, group, opts.expand === true));
  lines.push(...alignRows(rows));
  const failed = s.tasks.filter((t) => t.state === 'failed' || t.state === 'conflicted');
  if (failed.length > 0) lines.push('', `see why: ${failed.map((t) => `swarm logs ${t.id}`).join(' · ')}`);
  const refused = s.tasks.filter((t) => t.denied !== undefined && t.denied.length > 0);
  if (refused.length > 0) lines.push('', 'tool calls Claude Code refused (add the rule to agent.allowed_tools to allow them):');
  for (const t of refused) for (const d of t.denied!) lines.push(`  ${t.id}: ${d.summary.replace(/\s+/g, ' ')} -> ${d.suggestion}`);
  return `${lines.join('\n')}\n`;
}

function ago(ms: number): string {
  return ms < 60_000 ? 'just now' : `${formatDuration(ms)} ago`;
}

function opt<K extends string, V>(key: K, value: V | undefined | null): { [P in K]?: V } {
  return (value === undefined || value === null ? {} : { [key]: value }) as { [P in K]?: V };
}
