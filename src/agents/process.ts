/**
 * Starts an agent process the way every runner needs it: detached in its own process
 * group, stdin closed, no shell, the environment exactly as given (plus a tag, see
 * `Family`), stdout streamed line by line, everything raw to a JSONL log, and the whole
 * family killed on timeout, on abort and after the leader exits (an agent's Bash tool may
 * leave children behind).
 */
import { execa } from 'execa';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export type StreamName = 'stdout' | 'stderr';

export interface ProcessOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The complete environment; nothing is inherited that is not in here. */
  readonly env: Readonly<Record<string, string>>;
  /** Kill the group after this long; undefined or 0 means no limit. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Time between SIGTERM and SIGKILL to the group.
   * @default 5000
   */
  readonly graceMs?: number;
  /** One JSON object a line; appended to, its folder created. */
  readonly logFile?: string;
  /**
   * stdout lines that are already JSON objects (claude's stream-json) go to the log as
   * they are; everything else is wrapped as `{t, stream, line}`.
   * @default false
   */
  readonly stdoutIsJsonl?: boolean;
  readonly onStdoutLine?: (line: string) => void;
  readonly onSpawn?: (pid: number) => void;
}

export interface ProcessOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly spawnError?: string;
  readonly pid?: number;
  /** The last stderr lines, for an error message. */
  readonly stderrTail: string;
}

const STDERR_TAIL_LINES = 20;

export async function runProcess(opts: ProcessOptions): Promise<ProcessOutcome> {
  const graceMs = opts.graceMs ?? 5000;
  const log = opts.logFile === undefined ? undefined : openLog(opts.logFile);
  const stderrTail: string[] = [];

  if (opts.signal?.aborted) {
    await closeLog(log);
    return { exitCode: null, signal: null, timedOut: false, cancelled: true, stderrTail: '' };
  }

  const tag = `${process.pid}-${randomUUID()}`;
  const sub = execa(opts.file, [...opts.args], {
    cwd: opts.cwd,
    env: { ...opts.env, [TAG_VAR]: tag },
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    detached: true,
    // We kill the whole group ourselves; execa's own kill only reaches the leader.
    cleanup: false,
    windowsHide: true,
  });

  const pid = sub.pid;
  if (pid === undefined) {
    const result = await sub;
    const spawnError = result.originalMessage || result.shortMessage || `could not start ${opts.file}`;
    writeLog(log, 'stderr', spawnError);
    await closeLog(log);
    return { exitCode: null, signal: null, timedOut: false, cancelled: false, spawnError, stderrTail: spawnError };
  }

  const family: Family = { pgid: pid, tag };
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    sub.once('exit', (code, signal) => resolve({ code, signal }));
  });
  opts.onSpawn?.(pid);

  const streamsDone: Promise<void>[] = [];
  if (sub.stdout) {
    const rl = createInterface({ input: sub.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (opts.stdoutIsJsonl === true && isJsonObjectLine(line)) {
        if (log && !log.destroyed) log.write(line + '\n');
      } else {
        writeLog(log, 'stdout', line);
      }
      opts.onStdoutLine?.(line);
    });
    streamsDone.push(new Promise((resolve) => rl.once('close', resolve)));
  }
  if (sub.stderr) {
    const rl = createInterface({ input: sub.stderr, crlfDelay: Infinity });
    rl.on('line', (line) => {
      writeLog(log, 'stderr', line);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    streamsDone.push(new Promise((resolve) => rl.once('close', resolve)));
  }

  let stopReason: 'timeout' | 'cancelled' | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: 'timeout' | 'cancelled'): void => {
    if (stopReason !== undefined) return;
    stopReason = why;
    stopping = terminateFamily(family, graceMs);
  };
  // setTimeout fires at once for delays past 2^31-1 ms (~24.8 days); clamp.
  const timer = opts.timeoutMs ? setTimeout(() => stop('timeout'), Math.min(opts.timeoutMs, 2 ** 31 - 1)) : undefined;
  const onAbort = (): void => stop('cancelled');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const exit = await exited;
  if (timer) clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);

  // The leader is gone; whatever it left in its group goes too, so nothing keeps running
  // in (or writing to) the worktree after the attempt ended.
  await (stopping ?? terminateFamily(family, graceMs));

  // A process outside the group could still hold our pipes; don't wait on it forever.
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    Promise.all(streamsDone).then(() => true),
    new Promise<boolean>((resolve) => {
      drainTimer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(drainTimer);
  if (!drained) {
    sub.stdout?.destroy();
    sub.stderr?.destroy();
  }
  await sub;
  await closeLog(log);

  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut: stopReason === 'timeout',
    cancelled: stopReason === 'cancelled',
    pid,
    stderrTail: stderrTail.join('\n'),
  };
}

/**
 * Who belongs to one agent: its process group and, on Linux, every process that carries
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
  let members = familyMembers(family);
  if (members.length === 0) return;
  signalFamily(family, members, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await delay(50);
    members = familyMembers(family);
    if (members.length === 0) return;
  }
  // A member may fork between a scan and the kill; a few rounds catch the stragglers.
  for (let round = 0; round < 5 && members.length > 0; round++) {
    signalFamily(family, members, 'SIGKILL');
    await delay(20);
    members = familyMembers(family);
  }
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

/** The variable that tags an agent's processes; set by runProcess. */
export const TAG_VAR = 'SWARM_PROCESS_TAG';

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

function signalFamily(family: Family, members: readonly number[], signal: NodeJS.Signals): void {
  trySignal(-family.pgid, signal);
  for (const pid of members) trySignal(pid, signal);
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

/** State and process group of a pid from /proc (Linux), or undefined when it is gone. */
export function readStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid pgrp ...`; comm may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = fields;
  if (state === undefined || ppid === undefined || pgrp === undefined) return undefined;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp) };
}

function isJsonObjectLine(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function openLog(file: string): WriteStream | undefined {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch {
    return undefined;
  }
  const log = createWriteStream(file, { flags: 'a' });
  // A log we cannot write must not crash the run or fail the agent; the events still flow.
  log.on('error', () => {});
  return log;
}

function writeLog(log: WriteStream | undefined, stream: StreamName, line: string): void {
  if (log?.destroyed) return;
  log?.write(JSON.stringify({ t: Date.now(), stream, line }) + '\n');
}

function closeLog(log: WriteStream | undefined): Promise<void> {
  if (!log || log.destroyed) return Promise.resolve();
  // 'close' comes after a clean finish and after an error alike.
  return new Promise((resolve) => {
    log.once('close', () => resolve());
    log.end();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
