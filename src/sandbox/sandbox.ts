/**
 * The sandbox as the agent runners see it (`AgentSandbox`): per task, bubblewrap or nothing,
 * by the task's `agent.sandbox` and whether bwrap works here (probed once per run).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { AgentCommand, AgentSandbox } from '../agents/process.js';
import type { AgentSpec } from '../config/spec.js';
import type { AgentInput } from '../engine/ports.js';
import { cleanEnv } from '../git/exec.js';
import { err, ok, type Result } from '../util/result.js';
import { bwrapCommand, CODEX_IN_SANDBOX_ARGS, probeBwrap, type SandboxLayout } from './bwrap.js';

export class BwrapSandbox implements AgentSandbox {
  readonly #bin: string;
  readonly #layout: SandboxLayout;
  readonly #available: Result<void, string>;

  constructor(bin: string, layout: SandboxLayout, available: Result<void, string>) {
    this.#bin = bin;
    this.#layout = layout;
    this.#available = available;
  }

  /** Probes bwrap (the hidden `SWARM_BWRAP` names another binary, for tests) and finds the git common dir of `root`. */
  static async open(root: string, stateDir: string, bin = process.env.SWARM_BWRAP || 'bwrap'): Promise<BwrapSandbox> {
    const [available, commonDir] = await Promise.all([probeBwrap(bin), gitCommonDir(root)]);
    return new BwrapSandbox(bin, { commonDir, stateDir: resolve(stateDir) }, available);
  }

  get layout(): SandboxLayout {
    return this.#layout;
  }

  /** Why bwrap cannot be used here, or undefined when it can. */
  get unavailable(): string | undefined {
    return this.#available.ok ? undefined : this.#available.error;
  }

  /** Whether this agent's processes run confined. */
  confines(agent: AgentSpec): boolean {
    return this.#available.ok && agent.sandbox !== 'off';
  }

  wrap(input: AgentInput, command: AgentCommand): Result<AgentCommand, string> {
    const mode = input.agent.sandbox;
    if (mode === 'off') return ok(command);
    if (!this.#available.ok) return mode === 'required' ? err(`agent.sandbox is required, but ${this.#available.error}`) : ok(command);
    try {
      const target = { run: input.run, task: input.task.id, kind: input.agent.kind, worktree: resolve(input.worktree), env: command.env };
      // `codex exec ...`: its own options go right after the subcommand.
      const own =
        input.agent.kind === 'codex' && command.args[0] === 'exec'
          ? { ...command, args: ['exec', ...CODEX_IN_SANDBOX_ARGS, ...command.args.slice(1)] }
          : command;
      return ok(bwrapCommand(this.#bin, target, this.#layout, own));
    } catch (error) {
      return err(`could not prepare the sandbox: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * Before the run: an error naming the key when a task requires the sandbox and bwrap does not
 * work; a warning, once, when a task would use it (`auto`) and it does not.
 */
export function sandboxPreflight(
  sandbox: BwrapSandbox,
  agents: readonly { id: string; agent: AgentSpec }[],
  /** Whether tamper detection runs instead (it is part of the enforcement: not with `lease.enforce: off`). */
  detecting: boolean,
): Result<string | undefined, string> {
  const why = sandbox.unavailable;
  if (why === undefined) return ok(undefined);
  const required = agents.filter((t) => t.agent.sandbox === 'required').map((t) => t.id);
  if (required.length > 0) {
    return err(
      `agent.sandbox: required (task${required.length === 1 ? '' : 's'} ${required.join(', ')}), but ${why}. ` +
        'Install bubblewrap (apt-get install bubblewrap), or set agent.sandbox: auto to run with tamper detection instead.',
    );
  }
  if (agents.some((t) => t.agent.sandbox === 'auto')) {
    const instead = detecting
      ? '; swarm watches .git/config, the hooks and your checkout around each agent instead, and refuses to merge a task that changed them'
      : ' (and with lease.enforce: off, nothing watches what they change)';
    return ok(`agents run without a sandbox (${why})${instead}`);
  }
  return ok(undefined);
}

function gitCommonDir(root: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile('git', ['rev-parse', '--git-common-dir'], { cwd: root, env: cleanEnv(), encoding: 'utf8' }, (error, stdout) =>
      error ? fail(error) : done(resolve(root, stdout.trim())),
    );
  });
}
