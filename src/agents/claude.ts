/**
 * `kind: claude`: Claude Code, headless.
 *
 *   claude -p --output-format stream-json --verbose --permission-mode MODE
 *     [--settings JSON] [--model M] [--max-turns N] [--max-budget-usd X]
 *     [--allowedTools=A,B] [--disallowedTools=C] [--resume SESSION] [...agent.args] -- PROMPT
 *
 * Why it looks like this (checked against claude 2.1.110):
 * - `-p` is a flag and the prompt is the positional argument; it goes last, after `--`,
 *   so a prompt that starts with `-` is never read as an option.
 * - stream-json needs `--verbose`. Tool lists go as one `--allowedTools=A,B` argument:
 *   the option is variadic, and a bare list would swallow the prompt.
 * - Success is `result.is_error === false`; an API error ends with subtype "success".
 * - No permission mode given means `acceptEdits`: in the default mode a headless agent
 *   cannot edit anything, and a fresh worktree is an untrusted folder whose own allow
 *   rules Claude Code ignores, so permissions must come from the command line.
 * - `bypassPermissions` is refused as root unless `IS_SANDBOX=1`; we set it only then.
 * - Never `--bare`: it skips every hook, our PreToolUse lease guard too.
 * - A fresh HOME/config dir needs nothing: in `-p` mode there is no onboarding or trust
 *   dialog, and an `ANTHROPIC_API_KEY` in the environment is used as is.
 */
import { dirname, join } from 'node:path';
import type { AgentSpec } from '../config/spec.js';
import type { AgentInput, AgentResult, AgentRunner } from '../engine/ports.js';
import type { Result } from '../util/result.js';
import { runAgentProcess, toResult, type AgentSandbox, type RunnerOptions } from './process.js';
import { agentEnv } from './env.js';
import { suggestRule } from './permission-hint.js';
import { parseStreamLine, toolSummary, type ClaudeResult } from './stream-json.js';
import { PreflightPaths } from './which.js';

/**
 * What claude 2.1.110 says, in its result's `errors` (is_error, 0 turns, exit 1, no API
 * call made), when `--resume` names a session it cannot find in its config dir (another
 * HOME or CLAUDE_CODE_CONFIG_DIR, `~/.claude/projects` deleted), or an id that is no UUID.
 */
const SESSION_MISSING = /No conversation found with session ID|--resume requires a valid session ID/;

/**
 * Claude retries a 401 ten times with backoff (minutes) before it gives up. The first
 * retry is its chance to refresh an OAuth token; a second 401 in a row means the key or
 * the login is refused for good (revoked by another process's refresh, invalid), so we stop
 * it there rather than let every agent on the login wait out the backoff.
 */
const AUTH_RETRIES = 2;
/** How an `api-retry` event's error reads for a refused key or login. */
const AUTH_ERROR = /\(HTTP (401|403)\)$|authentication.failed/;

export interface ClaudeRunnerOptions extends RunnerOptions {
  /** Whether we run as root (decides `IS_SANDBOX` for bypassPermissions). @default process.getuid() === 0 */
  readonly isRoot?: boolean;
}

export function claudeArgs(input: Pick<AgentInput, 'agent' | 'prompt' | 'settingsJson' | 'resumeSession'>): string[] {
  const a = input.agent;
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', a.permissionMode ?? 'acceptEdits'];
  if (input.settingsJson !== undefined) args.push('--settings', input.settingsJson);
  if (a.model !== undefined) args.push('--model', a.model);
  if (a.maxTurns !== undefined) args.push('--max-turns', String(a.maxTurns));
  if (a.maxBudgetUsd !== undefined) args.push('--max-budget-usd', String(a.maxBudgetUsd));
  if (a.allowedTools && a.allowedTools.length > 0) args.push(`--allowedTools=${a.allowedTools.join(',')}`);
  if (a.disallowedTools && a.disallowedTools.length > 0) args.push(`--disallowedTools=${a.disallowedTools.join(',')}`);
  if (input.resumeSession !== undefined) args.push('--resume', input.resumeSession);
  args.push(...a.args, '--', input.prompt);
  return args;
}

/**
 * With `agent.isolate_config`, each task gets its own Claude config dir next to its logs,
 * `.swarm/logs/<run>/<task>.claude/`: per task, not per attempt, so a retry can resume
 * the session stored there. It holds no login: use `ANTHROPIC_API_KEY` or a
 * `CLAUDE_CODE_OAUTH_TOKEN` (from `claude setup-token`) with it.
 */
export function isolatedConfigDir(input: Pick<AgentInput, 'logFile' | 'task'>): string {
  return join(dirname(input.logFile), `${input.task.id}.claude`);
}

export function claudeProcessEnv(
  input: Pick<AgentInput, 'agent' | 'env' | 'logFile' | 'task'>,
  isRoot: boolean,
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env = agentEnv(input.env, parent);
  if (input.agent.permissionMode === 'bypassPermissions' && isRoot) env.IS_SANDBOX = '1';
  if (input.agent.isolateConfig) env.CLAUDE_CONFIG_DIR = isolatedConfigDir(input);
  // Auto-memory tells every agent to write under ~/.claude/projects/<repo>/memory: outside
  // its worktree, shared by all of them, and refused by our hook; it also fills about half
  // the system prompt. Off unless the user asked for it (=0 keeps it on).
  env.CLAUDE_CODE_DISABLE_AUTO_MEMORY ??= '1';
  return env;
}

export class ClaudeRunner implements AgentRunner {
  readonly kind = 'claude' as const;
  readonly #graceMs: number | undefined;
  readonly #sandbox: AgentSandbox | undefined;
  readonly #isRoot: boolean;
  readonly #paths = new PreflightPaths();

  constructor(options: ClaudeRunnerOptions = {}) {
    this.#graceMs = options.graceMs;
    this.#sandbox = options.sandbox;
    this.#isRoot = options.isRoot ?? process.getuid?.() === 0;
  }

  async preflight(agent: AgentSpec, cwd: string): Promise<Result<void, string>> {
    return this.#paths.find(agent.bin ?? 'claude', cwd, (why) =>
      agent.bin === undefined ? 'claude not found on PATH; install @anthropic-ai/claude-code or set agent.bin' : `agent.bin: ${why}`,
    );
  }

  async run(input: AgentInput): Promise<AgentResult> {
    const file = this.#paths.resolve(input.agent.bin ?? 'claude');
    const args = claudeArgs(input);
    const env = claudeProcessEnv(input, this.#isRoot);

    let sessionId = input.resumeSession;
    let sessionAnnounced = false;
    let result: ClaudeResult | undefined;
    let authRetries = 0;
    let authMessage: string | undefined;
    let authLine = false;
    let usageLimit: { resetsAt?: number } | undefined;
    const refusals = new Map<string, string>();
    const authStop = new AbortController();
    const outcome = await runAgentProcess(
      { ...input, signal: AbortSignal.any([input.signal, authStop.signal]) },
      {
        file,
        args,
        env,
        graceMs: this.#graceMs,
        sandbox: this.#sandbox,
        stdoutIsJsonl: true,
        onStdoutLine: (line) => {
          for (const item of parseStreamLine(line, input.worktree)) {
            if (item.reason === 'result') {
              result = item;
              continue;
            }
            if (item.reason === 'refusal') {
              refusals.set(item.toolUseId, item.text);
              continue;
            }
            if (item.reason === 'usage-limit') {
              usageLimit = item.resetsAt === undefined ? {} : { resetsAt: item.resetsAt };
              continue;
            }
            if (item.reason === 'auth-error') {
              authLine = true;
              authMessage = item.message ?? authMessage;
              continue;
            }
            if (item.reason === 'api-retry' && AUTH_ERROR.test(item.error)) {
              // Not a rate limit: said as output, so the engine does not lower its concurrency for it.
              authRetries++;
              authMessage ??= `the model API answered ${item.error}`;
              input.onEvent({
                reason: 'output',
                text: `the model API refused the login (${item.error}); claude retries in ${Math.round(item.delayMs / 1000)}s`,
              });
              if (authRetries >= AUTH_RETRIES) authStop.abort();
              continue;
            }
            if (item.reason === 'session') {
              sessionId = item.sessionId;
              if (sessionAnnounced) continue;
              sessionAnnounced = true;
            }
            input.onEvent(item);
          }
        },
      },
    );

    // After the agent ended: claude lists its refusals in its result only.
    for (const d of result?.denials ?? []) {
      const refusal = d.toolUseId === undefined ? undefined : refusals.get(d.toolUseId);
      input.onEvent({
        reason: 'denied',
        tool: d.tool,
        summary: toolSummary(d.tool, d.input, input.worktree),
        suggestion: suggestRule(d.tool, d.input, refusal),
      });
    }

    sessionId = result?.sessionId ?? sessionId;
    const extras = {
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(result?.costUsd === undefined ? {} : { costUsd: result.costUsd }),
      ...(result?.turns === undefined ? {} : { turns: result.turns }),
    };
    if (authStop.signal.aborted && !input.signal.aborted) {
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        ok: false,
        failure: 'auth',
        ...extras,
        message: authMessage ?? 'the model API answered 401',
      };
    }
    if (result?.isError && (result.authFailed || authLine)) {
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        ok: false,
        failure: 'auth',
        ...extras,
        message: result.message ?? authMessage ?? 'authentication failed',
      };
    }
    // The limit is the account's, not the task's: reported only when the run ended on it
    // (a rejected status with extra usage allowed goes on, and ends well).
    if (usageLimit && result?.isError && !input.signal.aborted) {
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        ok: false,
        failure: 'usage-limit',
        ...extras,
        ...usageLimit,
        message: result.message ?? 'usage limit reached',
      };
    }
    const base = toResult(outcome, result?.message);
    if (!base.ok && base.failure !== 'exit') return { ...base, ...extras };
    if (result === undefined) {
      const why = base.ok ? 'claude ended without a result' : base.message;
      return { ...base, ok: false, failure: 'exit', ...extras, ...(why === undefined ? {} : { message: why }) };
    }
    if (result.isError && input.resumeSession !== undefined && result.turns === 0 && SESSION_MISSING.test(result.message ?? '')) {
      // The session id claude reports here is a new, empty one: not worth keeping.
      const { sessionId: _new, ...rest } = extras;
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        ok: false,
        failure: 'session-missing',
        ...rest,
        message: result.message ?? 'session not found',
      };
    }
    if (result.isError) {
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        ok: false,
        failure: 'is-error',
        ...extras,
        message: result.message ?? result.subtype ?? 'claude reported an error',
      };
    }
    // The result says success; a non-zero exit after it is still a failed attempt.
    return { ...base, ...extras, ...(result.message === undefined ? {} : { message: result.message }) };
  }
}
