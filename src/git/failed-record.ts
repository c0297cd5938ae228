import { TRAILER } from '../engine/record.js';
import type { GitRunner } from './exec.js';
import { identityArgs } from './identity.js';

/**
 * The record of a task that failed, kept beside the branches rather than on any of them:
 * `refs/swarm/<run>/failed/<task>` names a commit object made with `git commit-tree`, whose
 * parent is the task branch's tip (the integration head when it had none), whose tree is
 * that parent's tree, and whose message is
 *
 *   swarm: task <task> failed
 *
 *   <the failure detail, one paragraph, at most about 2,000 characters>
 *
 *   Swarm-Run: <run>
 *   Swarm-Task: <task>
 *   Swarm-Task-Hash: <the task's definition hash, resume.ts taskHash>
 *   Swarm-State: failed|conflicted
 *
 * `--push` pushes it when a task fails and deletes it once the task merges, both as a
 * compare-and-swap; a fresh clone fetches `refs/swarm/<run>/*` under the same names. So
 * another runner knows that the task failed, and for which definition of it, from local
 * refs alone.
 */
export interface FailedRecord {
  /** The definition hash of the task that failed. */
  readonly hash: string;
  readonly state: FailedState;
  readonly detail: string;
  /** The record's own commit object (what the ref names). */
  readonly commit: string;
  /** The task branch's tip when it failed (or the integration head, when it had no branch). */
  readonly parent: string;
  /** When it was written (its commit time, ms): with --shard, a record older than its shard's current job is that job's to redo. */
  readonly at?: number;
}

export type FailedState = 'failed' | 'conflicted';

/** What a failed record says, before it is written. */
export interface FailedRecordInput {
  /** With --shard: the shard ("K/N") that failed it. */
  readonly shard?: string;
  readonly run: string;
  readonly task: string;
  readonly hash: string;
  readonly state: FailedState;
  readonly detail: string;
}

/** The run's namespace under refs/swarm (every ref `--push` fetches for it). */
export function runRefs(run: string): string {
  return `refs/swarm/${run}/`;
}

export function failedRecordRef(run: string, task: string): string {
  return `${runRefs(run)}failed/${task}`;
}

/** Longest detail a record keeps; the start of a failure says what it was, the rest is in the log. */
export const DETAIL_LIMIT = 2000;

/** The message of a failed record (above); the detail made one paragraph and cut to DETAIL_LIMIT. */
export function failedRecordMessage(r: FailedRecordInput): string {
  const detail = oneParagraph(r.detail) || '(no detail)';
  return [
    `swarm: task ${r.task} failed`,
    '',
    detail,
    '',
    `${TRAILER.run}: ${r.run}`,
    `${TRAILER.task}: ${r.task}`,
    `${TRAILER.hash}: ${r.hash}`,
    `${TRAILER.state}: ${r.state}`,
    ...(r.shard === undefined ? [] : [`${TRAILER.shard}: ${r.shard}`]),
    '',
  ].join('\n');
}

/**
 * Lines right-trimmed, blank ones dropped (a blank line would end the paragraph, and the
 * last paragraph is where trailers are read), control characters gone, at most DETAIL_LIMIT.
 */
function oneParagraph(text: string): string {
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  const lines = clean
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const joined = lines.join('\n');
  return joined.length <= DETAIL_LIMIT ? joined : `${joined.slice(0, DETAIL_LIMIT - 1).trimEnd()}…`;
}

/** What a record's message says; undefined for one that is not a record of `run`'s `task`. */
export function parseFailedRecord(message: string, run: string, task: string): Pick<FailedRecord, 'hash' | 'state' | 'detail'> | undefined {
  const paragraphs = message.trim().split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return undefined;
  const fields = new Map<string, string>();
  for (const line of paragraphs.at(-1)!.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const hash = fields.get(TRAILER.hash) ?? '';
  const state = fields.get(TRAILER.state);
  if (fields.get(TRAILER.run) !== run || fields.get(TRAILER.task) !== task || hash === '') return undefined;
  if (state !== 'failed' && state !== 'conflicted') return undefined;
  return { hash, state, detail: paragraphs.slice(1, -1).join('\n\n') };
}

/**
 * Every failed record of `run` among the local refs (what `--push` fetched, or pushed from
 * here), by task. Reads no remote. A ref whose object is not a well-formed record is left out.
 */
export async function readFailedRecords(runner: GitRunner, cwd: string, run: string): Promise<Map<string, FailedRecord>> {
  const prefix = `${runRefs(run)}failed/`;
  const out = await runner.run(['for-each-ref', '--format=%(refname)%1f%(objectname)%1f%(parent)%1f%(committerdate:unix)%1f%(contents)%1e', '--', prefix], {
    cwd,
  });
  const records = new Map<string, FailedRecord>();
  if (out.exitCode !== 0) return records;
  for (const chunk of out.stdout.split('\x1e')) {
    const [ref = '', commit = '', parents = '', time = '', message = ''] = chunk.replace(/^\n/, '').split('\x1f');
    if (!ref.startsWith(prefix)) continue;
    const task = ref.slice(prefix.length);
    const parent = parents.trim().split(' ')[0] ?? '';
    const said = parseFailedRecord(message, run, task);
    if (said === undefined || parent === '' || task.includes('/')) continue;
    const at = Number(time) * 1000;
    records.set(task, { ...said, commit, parent, ...(at > 0 ? { at } : {}) });
  }
  return records;
}

/** Makes a record's commit object (on no branch): `parent`'s tree, `parent` as its one parent. Returns its sha. */
export async function writeFailedRecord(runner: GitRunner, cwd: string, record: FailedRecordInput, parent: string): Promise<string> {
  const identity = await identityArgs(runner, cwd);
  const out = await runner.run([...identity, 'commit-tree', `${parent}^{tree}`, '-p', parent, '-m', failedRecordMessage(record)], { cwd });
  if (out.exitCode !== 0) throw new Error(`git commit-tree: ${out.stderr.trim()}`);
  return out.stdout.trim();
}
