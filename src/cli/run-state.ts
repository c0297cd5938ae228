/**
 * What `swarm status`, `logs` and `clean` share: finding the repository's state.db from
 * any folder in the repository (or one of its worktrees), picking a run, and opening git
 * with the run's worktrees folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { loadSpecFile } from '../config/load.js';
import type { RunRecord, TaskRecord } from '../engine/ports.js';
import { Git } from '../git/index.js';
import { findMainRoot, NotARepositoryError, openStateDb, pidAlive, type SqliteStore } from '../store/index.js';
import { err, ok, type Result } from '../util/result.js';

export interface State {
  readonly root: string;
  readonly stateDir: string;
  /** Undefined when swarm never ran in this repository. */
  readonly store: SqliteStore | undefined;
}

/** The repository's state, without creating anything; an unusable state.db is an error (exit 2). */
export async function openState(cwd: string): Promise<Result<State, string>> {
  let root: string;
  try {
    root = await findMainRoot(cwd);
  } catch (error) {
    if (error instanceof NotARepositoryError) return err(error.message);
    throw error;
  }
  const stateDir = join(root, '.swarm');
  const db = join(stateDir, 'state.db');
  if (!existsSync(db)) return ok({ root, stateDir, store: undefined });
  const store = openStateDb(db);
  return store.ok ? ok({ root, stateDir, store: store.value }) : err(store.error);
}

/** NAME, or the only run, or the most recent one (by start time). */
export function pickRun(store: SqliteStore | undefined, name: string | undefined): Result<RunRecord, string> {
  const runs = store?.listRuns() ?? [];
  if (name !== undefined) {
    const run = runs.find((r) => r.name === name);
    if (run) return ok(run);
    return err(runs.length === 0 ? `no run named ${name}: swarm has not run in this repository yet` : `no run named ${name} (runs: ${names(runs)})`);
  }
  const latest = runs[0];
  if (latest === undefined) return err('no runs yet in this repository; start one with `swarm run`');
  return ok(latest);
}

function names(runs: readonly RunRecord[]): string {
  return runs
    .map((r) => r.name)
    .sort()
    .join(', ');
}

/**
 * The run's worktrees folder, relative to the root: where its tasks' worktrees were, or the
 * `worktrees:` of its file, or the default.
 */
export function worktreesDirOf(root: string, run: RunRecord | undefined, tasks: readonly TaskRecord[]): string {
  const wt = tasks.find((t) => t.worktree)?.worktree;
  if (wt !== undefined) return relative(root, dirname(dirname(wt))) || '.swarm/worktrees';
  if (run && existsSync(run.file)) {
    const spec = loadSpecFile(run.file);
    if (spec.ok) return spec.value.worktrees;
  }
  return '.swarm/worktrees';
}

export async function openGit(root: string, worktreesDir: string): Promise<Result<Git, string>> {
  return Git.open(root, { worktreesDir });
}

/** Whether the run's runner is alive right now (this host only; another host's runner counts as alive). */
export function runnerAlive(run: RunRecord, host: string): boolean {
  if (run.status !== 'running') return false;
  if (run.host !== host) return true;
  return run.pid > 0 && pidAlive(run.pid, run.pidStart);
}
