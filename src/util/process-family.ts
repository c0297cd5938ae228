/**
 * Finding and stopping every process swarm started for one job (an agent, a check),
 * including those that left its process group.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/** The variable that tags the processes of one job: `<runner pid>-<uuid>`. */
export const TAG_VAR = 'SWARM_PROCESS_TAG';

/** A new tag for a job this process starts. The runner's pid first: crash recovery finds its jobs by it. */
export function newTag(): string {
  return `${process.pid}-${randomUUID()}`;
}

/**
 * Who belongs to one job: its process group and, on Linux, every process that carries
 * its tag in the environment. The group alone is not enough: Claude Code runs each Bash
 * tool command under `setsid`, in a session and group of its own, and does not always
 * kill it on SIGTERM; once claude is gone those processes are orphans that no parent-pid
 * walk can find. The environment is inherited through setsid, fork and exec, so the tag
 * finds them (unless a command clears its environment on purpose).
 */
export interface Family {
  readonly pgid: number;
  readonly tag?: string;
}

/** SIGTERM to the whole family, then SIGKILL after `graceMs` to whoever is still alive. */
export async function terminateFamily(family: Family, graceMs: number): Promise<void> {
  await terminate(
    () => familyMembers(family),
    graceMs,
    (members, signal) => {
      trySignal(-family.pgid, signal);
      for (const pid of members) trySignal(pid, signal);
    },
  );
}

/**
 * SIGTERM to every pid `find` returns, then, for those it still returns after `graceMs`,
 * SIGKILL (a few rounds: a member may fork between a scan and the kill). Returns how many
 * the first scan found.
 */
export async function terminate(
  find: () => number[],
  graceMs: number,
  send: (pids: readonly number[], signal: NodeJS.Signals) => void = (pids, signal) => {
    for (const pid of pids) trySignal(pid, signal);
  },
): Promise<number> {
  const first = find();
  if (first.length === 0) return 0;
  send(first, 'SIGTERM');
  let left = first;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await delay(50);
    left = find();
    if (left.length === 0) return first.length;
  }
  for (let round = 0; round < 5 && left.length > 0; round++) {
    send(left, 'SIGKILL');
    await delay(20);
    left = find();
  }
  return first.length;
}

/** Live (non-zombie) pids of the family; on platforms without /proc, `[pgid]` while the group exists. */
export function familyMembers(family: Family): number[] {
  if (process.platform !== 'linux') return groupExists(family.pgid) ? [family.pgid] : [];
  const needle = family.tag === undefined ? undefined : Buffer.from(`${TAG_VAR}=${family.tag}\0`);
  const live = liveProcesses();
  if (live === undefined) return groupExists(family.pgid) ? [family.pgid] : [];
  const members: number[] = [];
  for (const { pid, stat } of live) {
    if (stat.pgrp === family.pgid || (needle && environHas(pid, needle))) members.push(pid);
  }
  return members;
}

/**
 * Every live (non-zombie) process but this one, from /proc; undefined where /proc cannot be
 * read. A zombie runs nothing; an orphaned one waits for init, which in a container may
 * never reap it.
 */
export function liveProcesses(): { pid: number; stat: NonNullable<ReturnType<typeof readStat>> }[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const live = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const stat = readStat(pid);
    if (stat && stat.state !== 'Z') live.push({ pid, stat });
  }
  return live;
}

/** Whether one of `pid`'s environment entries starts with `needle`. */
export function environHas(pid: number, needle: Buffer): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`);
    // Entries are NUL-separated; match at the start or right after a NUL.
    for (let at = env.indexOf(needle); at !== -1; at = env.indexOf(needle, at + 1)) {
      if (at === 0 || env[at - 1] === 0) return true;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * State, parent, process group and start time (clock ticks since boot) of a pid from
 * /proc (Linux), or undefined when it is gone.
 */
export function readStat(pid: number): { state: string; ppid: number; pgrp: number; startTicks: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid pgrp ...`; comm may itself hold spaces and parentheses.
  // Counted from the state, the 3rd field of the line: starttime is the 22nd.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = fields;
  const startTicks = fields[22 - 3];
  if (state === undefined || ppid === undefined || pgrp === undefined || startTicks === undefined) return undefined;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), startTicks };
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
