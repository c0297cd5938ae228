/**
 * Where `swarm status` and `swarm report` find a run's record in git: fetched from a remote
 * (`--remote NAME`), or on the local integration branch when state.db has no such run.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSpecFile } from '../config/load.js';
import type { Spec } from '../config/spec.js';
import { GitRunner } from '../git/exec.js';
import { Remote } from '../git/remote.js';
import { buildGraph } from '../graph/index.js';
import { planShards } from '../graph/shards.js';
import { readRunView, type RunView } from '../git/run-record-refs.js';
import type { SqliteStore } from '../store/index.js';
import { err, ok, type Result } from '../util/result.js';
import { trackedFilesFrom } from './project.js';
import { collectRecordStatus, type RecordStatusJson } from '../report/record-status.js';

/** Whether the command's argument names a swarm file rather than a run. */
export function isSpecFile(arg: string): boolean {
  try {
    return statSync(arg).isFile();
  } catch {
    return /\.ya?ml$/.test(arg);
  }
}

/**
 * The swarm file for a command's argument: the file itself, the file the named run was
 * started from (state.db knows it), or `./swarm.yaml`; the reason when a run name leads
 * to no file.
 */
export function specFileFor(arg: string | undefined, store: SqliteStore | undefined): Result<string, string> {
  if (arg === undefined) return ok('swarm.yaml');
  if (isSpecFile(arg)) return ok(arg);
  const run = store?.getRun(arg);
  if (run !== undefined && existsSync(run.file)) return ok(run.file);
  if (existsSync('swarm.yaml')) {
    const spec = loadSpecFile('swarm.yaml');
    if (spec.ok && spec.value.name === arg) return ok('swarm.yaml');
  }
  return err(`no swarm file for a run named "${arg}" here: name the file instead (e.g. swarm.yaml)`);
}

/**
 * `--remote NAME`: fetches the run's integration branch and `refs/swarm/<run>/*` from the
 * remote, then reads the whole run from them. Errors name the flag.
 */
export async function statusFromRemote(root: string, spec: Spec, remoteName: string, now = Date.now()): Promise<Result<RecordStatusJson, string>> {
  const remote = await Remote.open(root, remoteName, '--remote');
  if (!remote.ok) return err(remote.error);
  const fetched = await remote.value.fetchRunRecord(spec.name, spec.into, '--remote');
  if (!fetched.ok) return err(fetched.error);
  const view = await readRunView(new GitRunner(), root, `refs/remotes/${remoteName}/${spec.into}`, spec.name, {
    only: fetched.value.refs,
    branch: fetched.value.into !== undefined,
  });
  return ok(collectRecordStatus(spec, view, { kind: 'remote', remote: remoteName }, now, await assignment(spec, view)));
}

/**
 * The run from the local integration branch and `refs/swarm/<run>/`, or where there is no
 * such branch, from the remote-tracking branch of the file's `push:` remote (or origin) as
 * the last fetch left it;
 * undefined when git holds no record of it there (no landed task, no failure, no shard).
 * Nothing is fetched.
 */
export async function statusFromBranch(root: string, spec: Spec, now = Date.now()): Promise<RecordStatusJson | undefined> {
  const runner = new GitRunner();
  for (const ref of [`refs/heads/${spec.into}`, `refs/remotes/${spec.push ?? 'origin'}/${spec.into}`]) {
    const view = await readRunView(runner, root, ref, spec.name);
    // The local branch when there is one, even behind the remote's: it is what `swarm run` here resumes from.
    if (view.head === undefined) continue;
    return recorded(view) ? collectRecordStatus(spec, view, { kind: 'branch' }, now, await assignment(spec, view)) : undefined;
  }
  // No branch yet, but failures or shards recorded (nothing has landed).
  const view = await readRunView(runner, root, `refs/heads/${spec.into}`, spec.name, { branch: false });
  return recorded(view) ? collectRecordStatus(spec, view, { kind: 'branch' }, now, await assignment(spec, view)) : undefined;
}

function recorded(view: RunView): boolean {
  return view.merged.size > 0 || view.failed.size > 0 || view.shards.length > 0;
}

/**
 * Each task's shard as `swarm run --shard K/N` assigns it (cli/shard.ts: from the file and
 * the tracked files alone), when the record shows one shard count N; else none.
 */
async function assignment(spec: Spec, view: RunView): Promise<ReadonlyMap<string, string> | undefined> {
  const counts = new Set(view.shards.map((s) => s.count));
  if (counts.size !== 1) return undefined;
  const [count] = counts as Set<number>;
  const graph = buildGraph(spec, { trackedFiles: await trackedFilesFrom(dirname(spec.file)) });
  if (!graph.ok) return undefined;
  const plan = planShards(graph.value, count!);
  return new Map(spec.tasks.map((t) => [t.id, `${plan.shardOf(t.id)}/${count}`]));
}
