/**
 * Agents a crashed runner left behind. Agents run detached, in process groups of their
 * own, so SIGKILL to the runner does not reach them: an orphaned claude can go on editing
 * its worktree while a new runner commits and restarts the task there. Every agent
 * process carries `SWARM_PROCESS_TAG=<runner pid>-<uuid>` (see `runProcess`), which is
 * how they are found again. Linux only (/proc); elsewhere nothing is found.
 */
import { readlinkSync } from 'node:fs';
import { sep } from 'node:path';
import { environHas, liveProcesses, TAG_VAR, terminate } from '../util/process-family.js';

/**
 * Live pids whose environment says the runner with `runnerPid` started them and, when
 * `within` is given, whose working folder is inside it (the run's worktrees). The second
 * test matters: pids are reused, so another swarm run, in another repository, may have a
 * runner with that pid now, and its agents must never be taken for ours.
 */
export function orphansOf(runnerPid: number, within?: string): number[] {
  if (process.platform !== 'linux' || runnerPid <= 0) return [];
  const needle = Buffer.from(`${TAG_VAR}=${runnerPid}-`);
  const found: number[] = [];
  for (const { pid } of liveProcesses() ?? []) {
    if (environHas(pid, needle) && (within === undefined || cwdInside(pid, within))) found.push(pid);
  }
  return found;
}

function cwdInside(pid: number, dir: string): boolean {
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === dir || cwd.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  } catch {
    return false;
  }
}

/** SIGTERM to every orphan, SIGKILL after `graceMs` to those still there. Returns how many were found. */
export async function reapOrphans(runnerPid: number, opts: { within?: string; graceMs?: number } = {}): Promise<number> {
  return terminate(() => orphansOf(runnerPid, opts.within), opts.graceMs ?? 3000);
}
