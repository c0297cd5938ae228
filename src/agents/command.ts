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
import { type AgentSandbox, runAgentProcess, type RunnerOptions, toResult } from './process.js';
import { PreflightPaths } from './which.js';

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
