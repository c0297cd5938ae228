import type { AgentResult } from './ports.js';
import type { RetryContext } from './prompt.js';

/** What the user and the next attempt's prompt are told about a failed agent. */
export function describeAgentFailure(r: AgentResult): string {
  if (r.failure === 'tampered') return r.message ?? 'the agent changed what no agent may touch';
  const how =
    r.failure === 'timeout'
      ? 'timed out'
      : r.failure === 'is-error'
        ? 'reported an error'
        : r.failure === 'spawn'
          ? 'could not start'
          : r.failure === 'session-missing'
            ? 'could not resume its session'
            : r.failure === 'auth'
              ? 'could not authenticate'
              : r.signal
                ? `was killed by ${r.signal}`
                : `exited with code ${r.exitCode}`;
  // The runner's message often says the same ("killed by SIGKILL"): don't say it twice.
  if (!r.message) return `the agent ${how}`;
  return r.message.includes(how.replace(/^was /, '')) ? `the agent ${how}` : `the agent ${how}: ${r.message}`;
}

/** The one-line detail of a failed attempt, for the task's state and `swarm status`. */
export function failureDetail(f: RetryContext): string {
  switch (f.kind) {
    case 'agent-failed':
      return f.message;
    case 'check-failed':
      return `check \`${f.command}\` failed`;
    case 'audit':
      return `changed files outside its globs: ${f.paths.join(', ')}`;
    case 'empty':
      return 'its agent changed no file (allow_empty: true makes that a success)';
    case 'conflict':
      return `merge conflict in ${f.files.join(', ')}`;
  }
}
