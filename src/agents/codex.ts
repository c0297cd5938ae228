/**
 * `kind: codex`: OpenAI's Codex CLI, headless.
 *
 *   codex exec --json --color never SANDBOX [--model M] [...agent.args] [resume SESSION] -- PROMPT
 *
 * Why it looks like this (checked against codex-cli 0.169.0):
 * - `exec` runs one turn without asking anything; `--json` prints one event a line (see
 *   codex-json.ts). Stdin is /dev/null, so it never waits for more input.
 * - SANDBOX: `--sandbox workspace-write` by default, so the agent's commands can write
 *   only in its worktree (and temp folders), and reach no network; `permission_mode:
 *   plan` makes it `read-only`, `bypassPermissions` gives
 *   `--dangerously-bypass-approvals-and-sandbox` (for machines that are a sandbox
 *   already). Any sandbox flag of your own in `agent.args` replaces ours.
 * - Codex has no PreToolUse hook for swarm to refuse an edit outside the lease before it
 *   happens; the pre-commit guard (for the agent's own commits) and the audit before the
 *   merge still hold the lease, and the sandbox keeps writes inside the worktree.
 * - `resume SESSION` continues the thread `thread.started` named, for a retry or after
 *   a crash, as claude's `--resume` does. The prompt goes last, after `--`.
 * - Codex reports tokens, not money: no cost reaches `budget_usd` from a codex task.
 * - Which model provider and credentials it uses are codex's own settings (CODEX_HOME,
 *   `OPENAI_API_KEY`, or `-c` overrides in `agent.args`).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentSpec } from '../config/spec.js';
import type { AgentInput, AgentResult, AgentRunner } from '../engine/ports.js';
import type { Result } from '../util/result.js';
import { newCodexOutcome, parseCodexLine } from './codex-json.js';
import { runAgentProcess, toResult, type AgentSandbox, type RunnerOptions } from './process.js';
import { agentEnv } from './env.js';
import { PreflightPaths } from './which.js';

const SANDBOX_FLAGS = new Set(['--sandbox', '-s', '--full-auto', '--dangerously-bypass-approvals-and-sandbox', '--yolo']);

/**
 * What codex-cli 0.169.0 prints on stderr (exit 1, nothing on stdout, no API call) when
 * `exec resume` names a thread it has no rollout for (another CODEX_HOME, sessions
 * deleted). An id that is no UUID is taken as a thread name and starts a new thread.
 */
const SESSION_MISSING = /no rollout found for thread id/i;

export function codexArgs(input: Pick<AgentInput, 'agent' | 'prompt' | 'resumeSession'>): string[] {
  const a = input.agent;
  const args = ['exec', '--json', '--color', 'never'];
  const ownSandbox = a.args.some((arg) => SANDBOX_FLAGS.has(arg) || arg.startsWith('--sandbox='));
  if (!ownSandbox) {
    if (a.permissionMode === 'bypassPermissions') args.push('--dangerously-bypass-approvals-and-sandbox');
    else args.push('--sandbox', a.permissionMode === 'plan' ? 'read-only' : 'workspace-write');
  }
  if (a.model !== undefined) args.push('--model', a.model);
  args.push(...a.args);
  if (input.resumeSession !== undefined) args.push('resume', input.resumeSession);
  args.push('--', input.prompt);
  return args;
}

/** With `agent.isolate_config`: each task's own CODEX_HOME, next to its logs (it holds no login). */
export function isolatedCodexHome(input: Pick<AgentInput, 'logFile' | 'task'>): string {
  return join(dirname(input.logFile), `${input.task.id}.codex`);
}

export class CodexRunner implements AgentRunner {
  readonly kind = 'codex' as const;
  readonly #graceMs: number | undefined;
  readonly #sandbox: AgentSandbox | undefined;
  readonly #paths = new PreflightPaths();

  constructor(options: RunnerOptions = {}) {
    this.#graceMs = options.graceMs;
    this.#sandbox = options.sandbox;
  }

  async preflight(agent: AgentSpec, cwd: string): Promise<Result<void, string>> {
    return this.#paths.find(agent.bin ?? 'codex', cwd, (why) =>
      agent.bin === undefined ? 'codex not found on PATH; install @openai/codex or set agent.bin' : `agent.bin: ${why}`,
    );
  }

  async run(input: AgentInput): Promise<AgentResult> {
    const file = this.#paths.resolve(input.agent.bin ?? 'codex');
    const args = codexArgs(input);
    const env = agentEnv(input.env);
    if (input.agent.isolateConfig) {
      // Codex refuses a CODEX_HOME that does not exist.
      env.CODEX_HOME = isolatedCodexHome(input);
      mkdirSync(env.CODEX_HOME, { recursive: true });
    }

    const seen = newCodexOutcome();
    let sessionMissing: string | undefined;
    let sessionAnnounced = false;
    const outcome = await runAgentProcess(input, {
      file,
      args,
      env,
      graceMs: this.#graceMs,
      sandbox: this.#sandbox,
      stdoutIsJsonl: true,
      onStderrLine: (line) => {
        if (input.resumeSession !== undefined && SESSION_MISSING.test(line)) sessionMissing ??= line.replace(/^Error:\s*/, '');
      },
      onStdoutLine: (line) => {
        for (const event of parseCodexLine(line, seen, input.worktree)) {
          if (event.reason === 'session') {
            if (sessionAnnounced) continue;
            sessionAnnounced = true;
          }
          input.onEvent(event);
        }
      },
    });

    if (sessionMissing !== undefined && outcome.exitCode !== 0 && seen.threadId === undefined && !outcome.cancelled && !outcome.timedOut) {
      return { exitCode: outcome.exitCode, signal: outcome.signal, ok: false, failure: 'session-missing', message: sessionMissing };
    }
    const sessionId = seen.threadId ?? input.resumeSession;
    const extras = {
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(seen.turns > 0 ? { turns: seen.turns } : {}),
    };
    const base = toResult(outcome, seen.message);
    if (!base.ok && base.failure !== 'exit') return { ...base, ...extras };
    if (seen.usageLimit !== undefined && !seen.completed && !input.signal.aborted) {
      const message = seen.failure ?? 'usage limit reached';
      return { exitCode: outcome.exitCode, signal: outcome.signal, ok: false, failure: 'usage-limit', ...extras, ...seen.usageLimit, message };
    }
    if (seen.failure !== undefined && !seen.completed) {
      return { exitCode: outcome.exitCode, signal: outcome.signal, ok: false, failure: 'is-error', ...extras, message: seen.failure };
    }
    if (base.ok && !seen.completed) return { ...base, ok: false, failure: 'exit', ...extras, message: 'codex ended without finishing its turn' };
    return { ...base, ...extras };
  }
}
