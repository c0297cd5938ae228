/**
 * Starts an agent process the way every runner needs it: detached in its own process
 * group, stdin closed, no shell, the environment exactly as given (plus a tag, see
 * `Family`), stdout streamed line by line, everything raw to a JSONL log, and the whole
 * family killed on timeout, on abort and after the leader exits (an agent's Bash tool may
 * leave children behind).
 */
import { execa } from 'execa';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { newTag, TAG_VAR, terminateFamily, type Family } from '../util/process-family.js';

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
  readonly onStderrLine?: (line: string) => void;
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

  const tag = newTag();
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
        if (log && !log.destroyed) log.write(`${line}\n`);
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
      opts.onStderrLine?.(line);
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
  log?.write(`${JSON.stringify({ t: Date.now(), stream, line })}\n`);
}

function closeLog(log: WriteStream | undefined): Promise<void> {
  if (!log || log.destroyed) return Promise.resolve();
  // 'close' comes after a clean finish and after an error alike.
  return new Promise((resolve) => {
    log.once('close', () => resolve());
    log.end();
  });
}
