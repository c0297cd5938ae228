/**
 * The whole run as git records it, for `swarm status` and `swarm report` in any clone:
 * the tasks landed on the integration branch (its trailers), and the refs a run keeps under
 * `refs/swarm/<run>/`:
 *
 *   failed/<task>      a commit `swarm: task <task> failed`, the failure's detail, trailers
 *                      Swarm-Run, Swarm-Task, Swarm-Task-Hash, Swarm-State: failed|conflicted
 *                      (and Swarm-Shard: K/N in a sharded run)
 *   shards/<K>-of-<N>  a parentless commit with the empty tree, one per shard, moved by that
 *                      shard's runner as a heartbeat: Swarm-Run, Swarm-Shard: K/N,
 *                      Swarm-Runner: <host> <pid>, Swarm-Heartbeat: <ISO time>,
 *                      Swarm-State: running|finished|failed|cancelled
 *
 * The parsing below is pure (`parseRefList`, `parseMessage`, `buildRunView`); `readRunView`
 * is the one reader of git, of local refs only: fetching them is remote.ts's.
 */
import type { RecordEntry } from '../engine/ports.js';
import { TRAILER } from '../engine/record.js';
import { stripAnsi } from '../util/ansi.js';
import type { GitRunner } from './exec.js';
import { type FailedState, parseFailedRecord } from './failed-record.js';
import { readRunRecordAt } from './record.js';

/** Trailers only a shard's heartbeat carries (written by git/shard-remote.ts). */
export const REF_TRAILER = { runner: 'Swarm-Runner', heartbeat: 'Swarm-Heartbeat' } as const;
export type ShardState = 'running' | 'finished' | 'failed' | 'cancelled';

export interface MergedTask {
  readonly task: string;
  /** The definition hash it landed with. */
  readonly hash: string;
  /** The integration branch's commit that carries the trailers. */
  readonly landed: string;
  /** The task commit it holds. */
  readonly commit: string;
  readonly shard?: string;
  /** When it landed (committer date), epoch ms. */
  readonly at?: number;
}

export interface FailedTask {
  readonly task: string;
  readonly hash: string;
  readonly state: FailedState;
  /** The failure, as its runner wrote it (may span lines). */
  readonly detail: string;
  readonly shard?: string;
  /** The record's commit, and when it was made (epoch ms). */
  readonly commit: string;
  readonly at?: number;
}

export interface ShardView {
  /** `K/N`. */
  readonly shard: string;
  readonly index: number;
  readonly count: number;
  /** `absent`: no ref for this shard yet (its runner has not started, or not pushed). */
  readonly state: ShardState | 'absent' | 'unknown';
  readonly runner?: { readonly host: string; readonly pid: number };
  /** The runner's last heartbeat, epoch ms. */
  readonly heartbeat?: number;
}

export interface RunView {
  readonly run: string;
  /** The integration ref read (`refs/remotes/origin/swarm/x`, `refs/heads/swarm/x`). */
  readonly ref: string;
  /** Its commit; undefined when the ref does not exist. */
  readonly head?: string;
  /** The newest landing of each task, by task id. */
  readonly merged: ReadonlyMap<string, MergedTask>;
  readonly failed: ReadonlyMap<string, FailedTask>;
  /** By shard count, then index; every K of N filled in (`absent`) when one N is seen. */
  readonly shards: readonly ShardView[];
}

/** One ref under `refs/swarm/<run>/`, as for-each-ref lists it. */
export interface RefEntry {
  readonly ref: string;
  readonly sha: string;
  /** Committer date, epoch ms. */
  readonly at?: number;
  readonly message: string;
}

/** A commit message: its subject, the paragraphs between, and the trailers of its last paragraph. */
export interface ParsedMessage {
  readonly subject: string;
  readonly body: string;
  readonly trailers: ReadonlyMap<string, string>;
}

const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/;

export function parseMessage(message: string): ParsedMessage {
  const paragraphs = message
    .replace(/\r\n/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\s+$/g, ''))
    .filter((p) => p !== '');
  const subject = paragraphs.shift() ?? '';
  const trailers = new Map<string, string>();
  const last = paragraphs[paragraphs.length - 1];
  if (last?.split('\n').every((line) => TRAILER_LINE.test(line))) {
    paragraphs.pop();
    for (const line of last.split('\n')) {
      const m = TRAILER_LINE.exec(line)!;
      // The last value of a key counts, as in the integration branch's record.
      trailers.set(m[1]!, m[2]!.trim());
    }
  }
  return { subject, body: paragraphs.join('\n\n'), trailers };
}

/** `for-each-ref` format: fields split by NUL, the message last, a NUL closing each entry. */
const REF_FORMAT = '--format=%(refname)%00%(objectname)%00%(committerdate:unix)%00%(contents)%00';

/** The entries of for-each-ref's output with REF_FORMAT. Pure. */
export function parseRefList(stdout: string): RefEntry[] {
  const fields = stdout.split('\0');
  const out: RefEntry[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const ref = fields[i]!.replace(/^\n/, '');
    const seconds = Number(fields[i + 2]);
    out.push({ ref, sha: fields[i + 1]!, ...(fields[i + 2] !== '' && Number.isFinite(seconds) ? { at: seconds * 1000 } : {}), message: fields[i + 3]! });
  }
  return out;
}

const SHARD = /^([1-9][0-9]*)\/([1-9][0-9]*)$/;
const SHARD_REF = /^([1-9][0-9]*)-of-([1-9][0-9]*)$/;
const SHARD_STATES: ReadonlySet<string> = new Set(['running', 'finished', 'failed', 'cancelled']);

/**
 * The run's view from its record: `record` is the integration branch's entries, newest
 * first; `refs` the refs under `refs/swarm/<run>/`. A ref whose trailers name another run
 * or task than its name says is ignored (refs are written by swarm; a copy under the wrong
 * name is not evidence). Pure.
 */
export function buildRunView(run: string, ref: string, head: string | undefined, record: readonly RecordEntry[], refs: readonly RefEntry[]): RunView {
  const merged = new Map<string, MergedTask>();
  for (const e of record) {
    if (e.run !== run || e.task === undefined || e.hash === undefined || e.commit === undefined || merged.has(e.task)) continue;
    merged.set(e.task, {
      task: e.task,
      hash: e.hash,
      landed: e.landed,
      commit: e.commit,
      ...(e.shard !== undefined ? { shard: e.shard } : {}),
      ...(e.at !== undefined ? { at: e.at } : {}),
    });
  }
  const prefix = `refs/swarm/${run}/`;
  const failed = new Map<string, FailedTask>();
  const shards: ShardView[] = [];
  for (const r of [...refs].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))) {
    if (!r.ref.startsWith(prefix)) continue;
    const [kind, name, ...rest] = r.ref.slice(prefix.length).split('/');
    if (name === undefined || rest.length > 0) continue;
    const m = parseMessage(r.message);
    if (m.trailers.get(TRAILER.run) !== run) continue;
    if (kind === 'failed') {
      // Read as the runners read it (failed-record.ts): a record of another task, without a hash or a known state, is none.
      const said = parseFailedRecord(r.message, run, name);
      if (said === undefined) continue;
      const shard = m.trailers.get(TRAILER.shard);
      failed.set(name, {
        task: name,
        hash: said.hash,
        state: said.state,
        detail: printable(said.detail),
        ...(shard && SHARD.test(shard) ? { shard } : {}),
        commit: r.sha,
        ...(r.at !== undefined ? { at: r.at } : {}),
      });
    } else if (kind === 'shards') {
      const named = SHARD_REF.exec(name);
      if (named === null || m.trailers.get(TRAILER.shard) !== `${named[1]}/${named[2]}`) continue;
      const [index, count] = [Number(named[1]), Number(named[2])];
      if (index > count) continue;
      const state = m.trailers.get(TRAILER.state) ?? '';
      // `<host> <pid>`, and the process's start time where the runner knows it (cli/shard.ts).
      const runner = /^(\S+)\s+([0-9]+)(?:\s+\S+)?$/.exec(m.trailers.get(REF_TRAILER.runner) ?? '');
      const beat = Date.parse(m.trailers.get(REF_TRAILER.heartbeat) ?? '');
      const heartbeat = Number.isFinite(beat) ? beat : r.at;
      shards.push({
        shard: `${index}/${count}`,
        index,
        count,
        state: SHARD_STATES.has(state) ? (state as ShardState) : 'unknown',
        ...(runner !== null ? { runner: { host: printable(runner[1]!), pid: Number(runner[2]) } } : {}),
        ...(heartbeat !== undefined ? { heartbeat } : {}),
      });
    }
  }
  return { run, ref, ...(head !== undefined ? { head } : {}), merged, failed, shards: withAbsentShards(shards, [...merged.values(), ...failed.values()]) };
}

/**
 * What a record says, made safe to print: anyone who can push to the remote can write a
 * ref, and `swarm status` prints its text to a terminal. Escape sequences and control
 * characters other than newlines and tabs go.
 */
function printable(text: string): string {
  return stripAnsi(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** Every K of N, when the refs and trailers agree on one N; sorted by N, then K. */
function withAbsentShards(shards: readonly ShardView[], tasks: readonly { readonly shard?: string }[]): ShardView[] {
  const counts = new Set(shards.map((s) => s.count));
  for (const t of tasks) {
    const m = SHARD.exec(t.shard ?? '');
    if (m !== null && Number(m[1]) <= Number(m[2])) counts.add(Number(m[2]));
  }
  const out = [...shards];
  if (counts.size === 1) {
    const [count] = counts as Set<number>;
    // A count beyond GitHub's matrix limit is no shard plan swarm makes: not filled in.
    if (count! <= 256)
      for (let index = 1; index <= count!; index++)
        if (!shards.some((s) => s.index === index)) out.push({ shard: `${index}/${count}`, index, count: count!, state: 'absent' });
  }
  return out.sort((a, b) => a.count - b.count || a.index - b.index);
}

/**
 * The view from local refs: the record on `ref` and the refs under `refs/swarm/<run>/`.
 * `only`, when given, names the refs under `refs/swarm/<run>/` to believe: those the remote
 * has right now (a ref deleted there, such as the failed record of a task merged since,
 * may linger here from an earlier fetch). `branch: false` reads no integration branch (the
 * remote has none; a remote-tracking ref left from an earlier fetch is not believed).
 */
export async function readRunView(
  runner: GitRunner,
  cwd: string,
  ref: string,
  run: string,
  opts: { readonly only?: ReadonlySet<string>; readonly branch?: boolean } = {},
): Promise<RunView> {
  const branch = opts.branch !== false;
  const [headOut, record, list] = await Promise.all([
    branch ? runner.run(['rev-parse', '-q', '--verify', `${ref}^{commit}`], { cwd }) : undefined,
    branch ? readRunRecordAt(runner, cwd, ref, run) : [],
    runner.run(['for-each-ref', REF_FORMAT, `refs/swarm/${run}/`], { cwd }),
  ]);
  const head = headOut?.exitCode === 0 ? headOut.stdout.trim() : undefined;
  const refs = list.exitCode === 0 ? parseRefList(list.stdout).filter((r) => opts.only === undefined || opts.only.has(r.ref)) : [];
  return buildRunView(run, ref, head, head === undefined ? [] : record, refs);
}
