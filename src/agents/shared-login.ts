/**
 * Claude Code processes that share one subscription (OAuth) login race on its token
 * refresh: one refresh revokes the token the others hold, and their sessions fail mid-run
 * (anthropics/claude-code#25609 and its many duplicates). An API key, or a long-lived
 * token from `claude setup-token` in CLAUDE_CODE_OAUTH_TOKEN, is never refreshed, so it is
 * safe. Bedrock and Vertex use their own credentials.
 */
import type { Spec, TaskSpec } from '../config/spec.js';

const CREDENTIALS = ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX'];

/**
 * The warning to show before a run that would start more than one claude agent at once on
 * the login in `~/.claude` (no key or token in the environment or the task's env); else undefined.
 */
export function sharedLoginWarning(
  spec: Pick<Spec, 'tasks'>,
  selected: ReadonlySet<string> | undefined,
  concurrency: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (concurrency < 2) return undefined;
  const hasCredential = (t: TaskSpec) => CREDENTIALS.some((name) => (t.env[name] ?? env[name] ?? '') !== '');
  const shared = spec.tasks.filter((t) => t.agent.kind === 'claude' && (!selected || selected.has(t.id)) && !hasCredential(t));
  if (shared.length < 2) return undefined;
  return (
    `${shared.length} claude tasks may run at once (concurrency ${concurrency}) on the login in ~/.claude, with no ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN set: ` +
    'agents sharing one subscription login race on its token refresh and can log each other out mid-run. ' +
    'Run `claude setup-token` and set CLAUDE_CODE_OAUTH_TOKEN (or ANTHROPIC_API_KEY), with agent.isolate_config: true.'
  );
}
