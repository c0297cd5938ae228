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
import type { AgentInput, AgentResult } from '../engine/ports.js';
import { newTag, TAG_VAR, terminateFamily, type Family } from '../util/process-family.js';
import { ok, type Result } from '../util/result.js';

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

// ---------------------------------------------------------------------------- agent processes

export interface RunnerOptions {
  /** Between SIGTERM and SIGKILL to the agent's process group. @default 5000 */
  readonly graceMs?: number;
  /** Confines every agent process (bubblewrap); none: agents run unconfined. */
  readonly sandbox?: AgentSandbox;
}

export interface AgentCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Turns an agent's command into its confined form; given by the composition root (src/sandbox/). */
export interface AgentSandbox {
  /** The command to run instead (the same one when this agent runs unconfined), or why it cannot run at all. */
  wrap(input: AgentInput, command: AgentCommand): Result<AgentCommand, string>;
}

/**
 * Runs an agent's process for `input`: in its worktree, with its timeout, stop signal and
 * log file, reporting `spawned`. What differs between agents (program, argv, environment,
 * how stdout is read) is theirs to give.
 */
export async function runAgentProcess(
  input: AgentInput,
  opts: {
    file: string;
    args: readonly string[];
    env: Readonly<Record<string, string>>;
    graceMs: number | undefined;
    sandbox: AgentSandbox | undefined;
    stdoutIsJsonl?: boolean;
    onStdoutLine: (line: string) => void;
    onStderrLine?: (line: string) => void;
  },
): Promise<ProcessOutcome> {
  const wrapped = opts.sandbox ? opts.sandbox.wrap(input, opts) : ok<AgentCommand>(opts);
  if (!wrapped.ok) return { exitCode: null, signal: null, timedOut: false, cancelled: false, spawnError: wrapped.error, stderrTail: wrapped.error };
  const run = wrapped.value;
  return runProcess({
    file: run.file,
    args: run.args,
    cwd: input.worktree,
    env: run.env,
    timeoutMs: input.timeoutMs,
    signal: input.signal,
    logFile: input.logFile,
    ...(opts.stdoutIsJsonl === undefined ? {} : { stdoutIsJsonl: opts.stdoutIsJsonl }),
    ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
    onSpawn: (pid) => input.onEvent({ reason: 'spawned', pid, argv: displayArgv([opts.file, ...opts.args]) }),
    onStdoutLine: opts.onStdoutLine,
    ...(opts.onStderrLine === undefined ? {} : { onStderrLine: opts.onStderrLine }),
  });
}

/** The common mapping of a finished process to an AgentResult; `message` on success is the last line. */
export function toResult(outcome: ProcessOutcome, successMessage?: string): AgentResult {
  const base = { exitCode: outcome.exitCode, signal: outcome.signal };
  if (outcome.spawnError !== undefined) return { ...base, ok: false, failure: 'spawn', message: outcome.spawnError };
  if (outcome.cancelled) return { ...base, ok: false, failure: 'cancelled', message: 'stopped' };
  if (outcome.timedOut) return { ...base, ok: false, failure: 'timeout', message: 'timed out' };
  if (outcome.exitCode === 0) return { ...base, ok: true, ...(successMessage === undefined ? {} : { message: successMessage }) };
  const why = outcome.signal ? `killed by ${outcome.signal}` : `exit ${outcome.exitCode}`;
  return { ...base, ok: false, failure: 'exit', message: outcome.stderrTail.trim() ? `${why}: ${lastLines(outcome.stderrTail, 5)}` : why };
}

/** argv for events and the UI: the prompt can be pages long, so long arguments are clipped. */
export function displayArgv(argv: readonly string[]): string[] {
  return argv.map((a) => (a.length > 200 ? `${a.slice(0, 199)}…` : a));
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
