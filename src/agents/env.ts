/**
 * Environment variables by which a Claude Code session marks its own children. An agent
 * started from inside a Claude Code session (swarm run from a Claude terminal, or CI run
 * by an agent) would otherwise believe it is that session's subprocess, or talk to its
 * IDE. The user's settings (`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`, `..._MAX_OUTPUT_TOKENS`,
 * ...) are kept.
 */
export const PARENT_SESSION_VARS: readonly string[] = [
  'CLAUDECODE',
  'CLAUDE_CODE_ENTRYPOINT',
  'CLAUDE_CODE_SESSION_ID',
  'CLAUDE_CODE_SSE_PORT',
  'CLAUDE_CODE_RESUME_FROM_SESSION',
  'CLAUDE_CODE_REMOTE_SESSION_ID',
  'CLAUDE_CODE_SESSION_ACCESS_TOKEN',
  'CLAUDE_CODE_AGENT_NAME',
  'CLAUDE_CODE_TEAM_NAME',
  'CLAUDE_CODE_TMUX_SESSION',
];

/** process.env overlaid with `extra`, without undefined values and without a parent session's identity. */
export function agentEnv(extra: Readonly<Record<string, string>>, parent: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined) env[k] = v;
  Object.assign(env, extra);
  for (const k of PARENT_SESSION_VARS) delete env[k];
  return env;
}
