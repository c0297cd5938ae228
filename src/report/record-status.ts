/**
 * `swarm status` of a run read from its record in git (src/git/run-record-refs.ts) rather
 * than from state.db: what any clone can know of a run, sharded or not, after a fetch.
 * Each task of the swarm file is merged (by which shard, and whether its definition still
 * matches the file), failed or conflicted (its record under refs/swarm/), blocked by one
 * of those upstream, or not merged yet. Attempts, time, cost and logs are not in git.
 * Pure: built from a loaded Spec and a RunView.
 */
import type { Spec } from '../config/spec.js';
import { taskHash } from '../engine/resume.js';
import type { RunView, ShardView } from '../git/run-record-refs.js';
import { formatDuration } from '../util/duration.js';
import { alignRows, foldTemplates } from './task-table.js';

/**
 * A running shard whose heartbeat is older than this is shown as silent: its runner may be
 * gone. The runner beats every 30 s and another job may take its claim over after 90 s
 * (src/cli/shard.ts): three missed beats.
 */
export const SILENT_AFTER_MS = 90_000;

export type RecordTaskState = 'merged' | 'failed' | 'conflicted' | 'blocked' | 'pending';

/** The `--format json` shape of `swarm status --remote` (and of a run shown from its branch); docs/status-json.md. */
export interface RecordStatusJson {
  readonly version: 1;
  /** `remote`: fetched from `remote`; `branch`: the local integration branch (state.db has no such run). */
  readonly source: 'remote' | 'branch';
  readonly remote?: string;
  /** The integration ref read, and its commit (absent: the branch does not exist there). */
  readonly ref: string;
  readonly head?: string;
  readonly run: { readonly name: string; readonly file: string; readonly into: string };
  readonly shards: readonly ShardStatus[];
  /** Tasks by state; only the states that occur. */
  readonly counts: Readonly<Record<string, number>>;
  /** Merged tasks whose definition changed since they landed (`swarm run` runs them again). */
  readonly redefined: number;
  /** In the file's order. */
  readonly tasks: readonly RecordTaskStatus[];
  /** Tasks the record names that the file no longer has (removed or renamed). */
  readonly unknown: readonly { readonly id: string; readonly state: 'merged' | 'failed' | 'conflicted'; readonly shard?: string }[];
}

export interface ShardStatus {
  readonly shard: string;
  readonly state: ShardView['state'];
  readonly runner?: { readonly host: string; readonly pid: number };
  readonly heartbeat?: number;
  readonly heartbeatAgeMs?: number;
  /** Running, but no heartbeat for SILENT_AFTER_MS. */
  readonly silent?: boolean;
}

export interface RecordTaskStatus {
  readonly id: string;
  readonly title?: string;
  readonly template?: string;
  readonly match?: string;
  readonly state: RecordTaskState;
  readonly dependsOn: readonly string[];
  /** The definition's hash in the file now. */
  readonly hash: string;
  /** The shard that merged it or recorded its failure (`K/N`), as the record says. */
  readonly shard?: string;
  /** In a sharded run: the shard the file assigns it to (`swarm plan --shards N`), as the file here says. */
  readonly assignedShard?: string;
  /** The hash the record holds, when it differs from `hash`. */
  readonly recordedHash?: string;
  readonly redefined?: boolean;
  /** Merged: the integration branch's commit and the task commit it holds. */
  readonly landed?: string;
  readonly commit?: string;
  /** When it merged or failed, epoch ms. */
  readonly at?: number;
  /** Failed: the record's detail, first line; blocked: by what; pending: what it waits for. */
  readonly detail?: string;
  /** Failed or conflicted: the whole detail its record holds. */
  readonly failure?: string;
}

export function collectRecordStatus(
  spec: Spec,
  view: RunView,
  source: { readonly kind: 'remote' | 'branch'; readonly remote?: string },
  now: number,
  /** In a sharded run, each task's shard by the file's assignment. */
  assigned?: ReadonlyMap<string, string>,
): RecordStatusJson {
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  const memo = new Map<string, RecordTaskStatus>();
  const statusOf = (id: string, open: Set<string>): RecordTaskStatus => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const t = byId.get(id)!;
    const hash = taskHash(spec, t);
    const base = {
      id,
      ...(t.title !== id ? { title: t.title } : {}),
      ...(t.template !== undefined ? { template: t.template.id, match: t.template.matches[0] ?? '' } : {}),
      dependsOn: [...t.dependsOn].sort(),
      hash,
      ...(assigned?.has(id) ? { assignedShard: assigned.get(id)! } : {}),
    };
    const m = view.merged.get(id);
    const f = view.failed.get(id);
    let out: RecordTaskStatus;
    if (f !== undefined && (m === undefined || (f.at ?? 0) > (m.at ?? 0))) {
      const redefined = f.hash !== hash;
      const first = f.detail.split('\n').find((l) => l.trim() !== '') ?? '';
      out = {
        ...base,
        state: f.state,
        ...(f.shard !== undefined ? { shard: f.shard } : {}),
        ...(redefined ? { recordedHash: f.hash, redefined } : {}),
        commit: f.commit,
        ...(f.at !== undefined ? { at: f.at } : {}),
        detail: `${first.trim() || `${f.state}, no detail recorded`}${redefined ? ' (redefined since)' : ''}`,
        ...(f.detail.trim() !== '' ? { failure: f.detail.trim() } : {}),
      };
    } else if (m !== undefined) {
      const redefined = m.hash !== hash;
      out = {
        ...base,
        state: 'merged',
        ...(m.shard !== undefined ? { shard: m.shard } : {}),
        ...(redefined ? { recordedHash: m.hash, redefined } : {}),
        landed: m.landed,
        commit: m.commit,
        ...(m.at !== undefined ? { at: m.at } : {}),
        ...(redefined ? { detail: 'merged, redefined since: `swarm run` runs it again' } : {}),
      };
    } else {
      open.add(id);
      // The graph was validated acyclic when the file loaded; `open` only guards the recursion.
      const deps = base.dependsOn.filter((d) => byId.has(d) && !open.has(d)).map((d) => statusOf(d, open));
      open.delete(id);
      const stuck = deps.filter((d) => d.state === 'failed' || d.state === 'conflicted' || d.state === 'blocked');
      const waiting = deps.filter((d) => d.state !== 'merged');
      out =
        stuck.length > 0
          ? { ...base, state: 'blocked', detail: `blocked by ${stuck.map((d) => `${d.id} (${d.state})`).join(', ')}` }
          : { ...base, state: 'pending', detail: waiting.length > 0 ? `waits for ${waiting.map((d) => d.id).join(', ')}` : 'not merged yet' };
    }
    memo.set(id, out);
    return out;
  };
  const tasks = spec.tasks.map((t) => statusOf(t.id, new Set()));
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
  const unknown = [
    ...[...view.merged.values()]
      .filter((m) => !byId.has(m.task))
      .map((m) => ({ id: m.task, state: 'merged' as const, ...(m.shard ? { shard: m.shard } : {}) })),
    ...[...view.failed.values()]
      .filter((f) => !byId.has(f.task) && !view.merged.has(f.task))
      .map((f) => ({ id: f.task, state: f.state, ...(f.shard ? { shard: f.shard } : {}) })),
  ].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    version: 1,
    source: source.kind,
    ...(source.remote !== undefined ? { remote: source.remote } : {}),
    ref: view.ref,
    ...(view.head !== undefined ? { head: view.head } : {}),
    run: { name: spec.name, file: spec.file, into: spec.into },
    shards: view.shards.map((s) => shardStatus(s, now)),
    counts,
    redefined: tasks.filter((t) => t.state === 'merged' && t.redefined === true).length,
    tasks,
    unknown,
  };
}

function shardStatus(s: ShardView, now: number): ShardStatus {
  const age = s.heartbeat !== undefined ? Math.max(0, now - s.heartbeat) : undefined;
  return {
    shard: s.shard,
    state: s.state,
    ...(s.runner !== undefined ? { runner: s.runner } : {}),
    ...(s.heartbeat !== undefined ? { heartbeat: s.heartbeat, heartbeatAgeMs: age } : {}),
    ...(s.state === 'running' && age !== undefined && age > SILENT_AFTER_MS ? { silent: true } : {}),
  };
}

/** Where the record was read, for people: `origin/swarm/x` or `swarm/x`. */
export function recordPlace(s: RecordStatusJson): string {
  return s.ref.replace(/^refs\/(remotes|heads)\//, '');
}

/** `3/8 merged (1 redefined since), 1 failed, 4 pending`. */
export function countsLine(s: RecordStatusJson): string {
  const merged = s.counts.merged ?? 0;
  const rest = Object.entries(s.counts)
    .filter(([state]) => state !== 'merged')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, n]) => `${n} ${state === 'pending' ? 'not merged yet' : state}`);
  return [`${merged}/${s.tasks.length} merged${s.redefined > 0 ? ` (${s.redefined} redefined since)` : ''}`, ...rest].join(', ');
}

export function shardLine(s: ShardStatus): string {
  const state = s.state === 'absent' ? 'not started (no heartbeat recorded)' : s.silent === true ? 'running?' : s.state;
  const beat = s.heartbeatAgeMs === undefined ? '' : `heartbeat ${s.heartbeatAgeMs < 1000 ? 'just now' : `${formatDuration(s.heartbeatAgeMs)} ago`}`;
  const runner = s.runner === undefined ? '' : `pid ${s.runner.pid} on ${s.runner.host}`;
  const silent = s.silent === true ? 'silent: its runner may be gone' : '';
  return [state, beat, runner, silent].filter((x) => x !== '').join(' · ');
}

export function formatRecordStatus(s: RecordStatusJson, opts: { readonly expand?: boolean } = {}): string {
  const lines = [
    s.head !== undefined
      ? `run ${s.run.name}: from the record on ${recordPlace(s)} (${s.head.slice(0, 10)})`
      : `run ${s.run.name}: no ${recordPlace(s)} yet: nothing of this run has landed there`,
    `  ${countsLine(s)}`,
  ];
  if (s.shards.length > 0) {
    lines.push('');
    for (const sh of s.shards) lines.push(`  shard ${sh.shard.padEnd(Math.max(...s.shards.map((x) => x.shard.length)))}  ${shardLine(sh)}`);
  }
  lines.push('');
  const rows = [['TASK', 'STATE', 'SHARD', 'DETAIL']];
  const row = (t: RecordTaskStatus, indent = '') => [
    `${indent}${t.id}`,
    t.state === 'pending' ? 'not merged' : t.state,
    t.shard ?? t.assignedShard ?? '-',
    (t.detail ?? '').replace(/\s+/g, ' '),
  ];
  // A template's tasks fold into one row at the place of its first, as in `swarm status`.
  const group = (t: RecordTaskStatus, members: readonly RecordTaskStatus[]): string[] => {
    const shards = [...new Set(members.flatMap((m) => m.shard ?? m.assignedShard ?? []))].sort(byShard);
    return [`${t.template} (${members.length})`, 'template', shards.length > 0 ? shards.join(',') : '-', stateCounts(members)];
  };
  rows.push(...foldTemplates(s.tasks, row, group, opts.expand === true));
  lines.push(...alignRows(rows));
  if (s.unknown.length > 0) lines.push('', `in the record, not in ${s.run.file}: ${s.unknown.map((u) => `${u.id} (${u.state})`).join(', ')}`);
  lines.push('', 'attempts, time, cost and logs are in the state.db of the clone that ran each task; git records what landed and what failed');
  return `${lines.join('\n')}\n`;
}

/** `3 merged, 1 failed, 2 not merged yet`, in a fixed order. */
function stateCounts(tasks: readonly RecordTaskStatus[]): string {
  const order: readonly RecordTaskState[] = ['merged', 'failed', 'conflicted', 'blocked', 'pending'];
  return order
    .map((state) => [state, tasks.filter((t) => t.state === state).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state === 'pending' ? 'not merged yet' : state}`)
    .join(', ');
}

function byShard(a: string, b: string): number {
  const [ak = 0, an = 0] = a.split('/').map(Number);
  const [bk = 0, bn = 0] = b.split('/').map(Number);
  return an - bn || ak - bk;
}
