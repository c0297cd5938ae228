/**
 * `codex exec --json` output, one event a line (checked against codex-cli 0.169.0):
 *
 *   {"type":"thread.started","thread_id":"…"}            the session, for `exec resume`
 *   {"type":"turn.started"}
 *   {"type":"item.started"|"item.completed","item":{"type":"command_execution","command":…}}
 *   {"type":"item.completed","item":{"type":"file_change","changes":[{"path":…}]}}
 *   {"type":"item.completed","item":{"type":"agent_message","text":…}}
 *   {"type":"error","message":"Reconnecting... 2/5 (…)"}    the API is retried
 *   {"type":"turn.completed","usage":{…}} | {"type":"turn.failed","error":{"message":…}}
 *
 * Items of type `error` are warnings (an unknown model's metadata, say), not failures.
 *
 * A usage limit: the Responses API answers 429 with `{"error":{"type":"usage_limit_reached",
 * "plan_type":"plus","resets_at":<unix seconds>}}`; codex does not retry it, and all it
 * prints of it is text, in an `error` event and then `turn.failed` (exit 1): "You’ve hit
 * your usage limit. Upgrade to Pro (…) or try again at 1:33 AM." The time is local, to the
 * minute; on another day "Dec 3rd, 2026 1:33 AM"; "try again later" when it has no reset.
 */
import { relative } from 'node:path';
import type { AgentOutput } from '../engine/ports.js';

/** What the whole output said, built up line by line. */
export interface CodexOutcome {
  threadId?: string;
  /** The last agent message: the answer. */
  message?: string;
  completed: boolean;
  failure?: string;
  /** Model responses with a tool call or an answer: the nearest thing to claude's turns. */
  turns: number;
  /** The account's usage limit is reached; `resetsAt` in ms since the epoch when codex said. */
  usageLimit?: { resetsAt?: number };
}

const USAGE_LIMIT = /hit your usage limit/i;

export function newCodexOutcome(): CodexOutcome {
  return { completed: false, turns: 0 };
}

/** Reads one line into `outcome`; returns the events to report. Lines that are not JSON are output. */
export function parseCodexLine(line: string, outcome: CodexOutcome, worktree: string): AgentOutput[] {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return line.trim() === '' ? [] : [{ reason: 'output', text: line }];
  }
  if (!isRecord(event)) return [];
  switch (event.type) {
    case 'thread.started':
      if (typeof event.thread_id !== 'string') return [];
      outcome.threadId = event.thread_id;
      return [{ reason: 'session', sessionId: event.thread_id }];
    case 'turn.completed':
      outcome.completed = true;
      return [];
    case 'turn.failed': {
      const error = isRecord(event.error) ? event.error.message : undefined;
      outcome.failure = typeof error === 'string' ? apiMessage(error) : 'codex reported a failed turn';
      return [];
    }
    case 'error': {
      const message = typeof event.message === 'string' ? event.message : '';
      const retry = /^Reconnecting\.\.\. (\d+)\/\d+(?: \((.*)\))?/.exec(message);
      if (retry) return [{ reason: 'api-retry', retryAttempt: Number(retry[1]), delayMs: 0, error: retry[2] ?? message }];
      outcome.failure ??= apiMessage(message);
      if (USAGE_LIMIT.test(message)) {
        const at = codexResetTime(message, new Date());
        outcome.usageLimit = at === undefined ? {} : { resetsAt: at };
      }
      return [];
    }
    case 'item.started':
    case 'item.completed':
      return itemEvents(event.type, event.item, outcome, worktree);
    default:
      return [];
  }
}

function itemEvents(type: string, item: unknown, outcome: CodexOutcome, worktree: string): AgentOutput[] {
  if (!isRecord(item)) return [];
  const started = type === 'item.started';
  switch (item.type) {
    case 'command_execution':
      if (!started) return [];
      outcome.turns++;
      return [{ reason: 'tool', tool: 'exec', summary: oneLine(typeof item.command === 'string' ? item.command : '') }];
    case 'file_change': {
      if (started) return [];
      outcome.turns++;
      const paths = Array.isArray(item.changes)
        ? item.changes.flatMap((c) => (isRecord(c) && typeof c.path === 'string' ? [relative(worktree, c.path) || c.path] : []))
        : [];
      return [{ reason: 'tool', tool: 'edit', summary: paths.join(', ') }];
    }
    case 'agent_message':
      if (started || typeof item.text !== 'string') return [];
      outcome.turns++;
      outcome.message = item.text;
      return [{ reason: 'output', text: item.text }];
    default:
      return [];
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * When codex's "try again at 1:33 AM." (or "at Dec 3rd, 2026 1:33 AM.") is, in ms: read in
 * this process's time zone (the agent inherits it), a minute late, since codex cuts the
 * seconds off. Undefined when the text names no time.
 */
export function codexResetTime(text: string, now: Date): number | undefined {
  const m = /[Tt]ry again at (?:([A-Z][a-z]{2}) (\d{1,2})(?:st|nd|rd|th), (\d{4}) )?(\d{1,2}):(\d{2}) ([AP]M)/.exec(text);
  if (!m) return undefined;
  const [, month, day, year, hour, minute, half] = m;
  const h = (Number(hour) % 12) + (half === 'PM' ? 12 : 0);
  const date = new Date(now);
  if (month !== undefined) {
    const index = MONTHS.indexOf(month);
    if (index < 0) return undefined;
    date.setFullYear(Number(year), index, Number(day));
  }
  date.setHours(h, Number(minute), 0, 0);
  return date.getTime() + 60_000;
}

/** The API's own message when codex passes a JSON error body through. */
function apiMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && isRecord(body.error) && typeof body.error.message === 'string') return body.error.message;
  } catch {
    // Plain text.
  }
  return text;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
