/**
 * `kind: command`: any program as an agent. Its argv comes from `agent.command` with
 * `{prompt}`, `{prompt_file}`, `{task}` and `{worktree}` filled in (never through a
 * shell), it runs in the task's worktree, and each line it prints is an `output` event.
 * Success is exit code 0.
 */
import type { AgentSpec } from '../config/spec.js';
import type { AgentInput, AgentResult, AgentRunner } from '../engine/ports.js';
import { err, ok, type Result } from '../util/result.js';
import { agentEnv } from './env.js';
import { runProcess, type ProcessOutcome } from './process.js';
import { PreflightPaths } from './which.js';

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

const PLACEHOLDER = /\{(prompt|prompt_file|task|worktree)\}/g;

/** Fills the placeholders in one pass, so a prompt that contains `{task}` stays as written. */
export function fillArgv(command: readonly string[], values: { prompt: string; promptFile: string; task: string; worktree: string }): string[] {
  const table: Record<string, string> = {
    prompt: values.prompt,
    prompt_file: values.promptFile,
    task: values.task,
    worktree: values.worktree,
  };
  return command.map((arg) => arg.replace(PLACEHOLDER, (_, name: string) => table[name] ?? ''));
}

export class CommandRunner implements AgentRunner {
  readonly kind = 'command' as const;
  readonly #graceMs: number | undefined;
  readonly #sandbox: AgentSandbox | undefined;
  readonly #paths = new PreflightPaths();

  constructor(options: RunnerOptions = {}) {
    this.#graceMs = options.graceMs;
    this.#sandbox = options.sandbox;
  }

  async preflight(agent: AgentSpec, cwd: string): Promise<Result<void, string>> {
    const bin = agent.command?.[0];
    if (bin === undefined || bin === '') return err('agent.command is required for kind: command (e.g. ["./bin/my-agent", "{prompt_file}"])');
    // A placeholder in the program itself is only known per task.
    if (new RegExp(PLACEHOLDER.source).test(bin)) return ok(undefined);
    return this.#paths.find(bin, cwd, (why) => `agent command: ${why}`);
  }

  async run(input: AgentInput): Promise<AgentResult> {
    const command = input.agent.command;
    if (!command || command.length === 0) {
      return { ok: false, failure: 'spawn', exitCode: null, signal: null, message: 'agent.command is required for kind: command' };
    }
    const [program, ...args] = fillArgv(command, {
      prompt: input.prompt,
      promptFile: input.promptFile,
      task: input.task.id,
      worktree: input.worktree,
    });
    const env = agentEnv({
      ...input.env,
      SWARM_TASK: input.task.id,
      SWARM_RUN: input.run,
      SWARM_WORKTREE: input.worktree,
      SWARM_PROMPT_FILE: input.promptFile,
      SWARM_ATTEMPT: String(input.attempt),
    });
    const file = this.#paths.resolve(program!);

    let lastLine: string | undefined;
    const outcome = await runAgentProcess(input, {
      file,
      args,
      env,
      graceMs: this.#graceMs,
      sandbox: this.#sandbox,
      onStdoutLine: (line) => {
        if (line.trim() === '') return;
        lastLine = line;
        input.onEvent({ reason: 'output', text: line });
      },
    });
    return toResult(outcome, lastLine);
  }
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
