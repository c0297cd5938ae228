/**
 * Claude Code's `--output-format stream-json --verbose` output, one line at a time, turned
 * into the agent events swarm shows. Pure: no I/O, so it is tested on recorded real lines.
 *
 * What we read (checked against claude 2.1.110):
 * - `{type:"system", subtype:"init", session_id}` -> the session id.
 * - `{type:"system", subtype:"api_retry", attempt, max_retries, retry_delay_ms,
 *   error_status, error}` -> a rate-limit/overload retry.
 * - `{type:"assistant", message:{content:[...]}}` -> `text` blocks are output, `tool_use`
 *   blocks are the agent's current action.
 * - `{type:"result", is_error, subtype, result, total_cost_usd, num_turns, session_id}`:
 *   success is `is_error === false`. The subtype is not enough: an API error ends with
 *   `subtype:"success", is_error:true`.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { AgentOutput } from '../engine/ports.js';

export interface ClaudeResult {
  readonly reason: 'result';
  readonly isError: boolean;
  readonly subtype?: string;
  readonly sessionId?: string;
  readonly costUsd?: number;
  readonly turns?: number;
  /** The final text, or what went wrong. */
  readonly message?: string;
}

export type StreamItem = AgentOutput | ClaudeResult;

const SUMMARY_MAX = 120;

/** Events in one stream-json line; [] for lines that carry nothing for us or are not JSON. */
export function parseStreamLine(line: string, worktree: string): StreamItem[] {
  const msg = parseObject(line);
  if (!msg) return [];
  switch (msg.type) {
    case 'system':
      return parseSystem(msg);
    case 'assistant':
      return parseAssistant(msg, worktree);
    case 'result':
      return [parseResult(msg)];
    default:
      return [];
  }
}

function parseSystem(msg: Record<string, unknown>): StreamItem[] {
  if (msg.subtype === 'init') {
    const id = str(msg.session_id);
    return id ? [{ reason: 'session', sessionId: id }] : [];
  }
  if (msg.subtype === 'api_retry') {
    const error = str(msg.error) ?? 'api error';
    const status = num(msg.error_status);
    return [
      {
        reason: 'api-retry',
        retryAttempt: num(msg.attempt) ?? 0,
        delayMs: Math.round(num(msg.retry_delay_ms) ?? 0),
        error: retryLabel(error, status),
      },
    ];
  }
  return [];
}

function parseAssistant(msg: Record<string, unknown>, worktree: string): StreamItem[] {
  const message = obj(msg.message);
  const content = message?.content;
  if (!Array.isArray(content)) return [];
  const out: StreamItem[] = [];
  for (const raw of content) {
    const block = obj(raw);
    if (!block) continue;
    if (block.type === 'text') {
      const text = str(block.text);
      if (text && text.trim() !== '') out.push({ reason: 'output', text });
    } else if (block.type === 'tool_use') {
      const tool = str(block.name) ?? 'tool';
      out.push({ reason: 'tool', tool, summary: toolSummary(tool, obj(block.input) ?? {}, worktree) });
    }
  }
  return out;
}

function parseResult(msg: Record<string, unknown>): ClaudeResult {
  const errors = Array.isArray(msg.errors) ? msg.errors.filter((e): e is string => typeof e === 'string') : [];
  const subtype = str(msg.subtype);
  const message = str(msg.result) ?? (errors.length > 0 ? errors.join('; ') : subtype);
  return {
    reason: 'result',
    // Anything but an explicit false is a failure: a result we cannot read is not a success.
    isError: msg.is_error !== false,
    ...(subtype === undefined ? {} : { subtype }),
    ...optional('sessionId', str(msg.session_id)),
    ...optional('costUsd', num(msg.total_cost_usd)),
    ...optional('turns', num(msg.num_turns)),
    ...optional('message', message),
  };
}

/** `Edit src/auth/login.ts`, `Bash npm test`: one line saying what the agent is doing. */
export function toolSummary(tool: string, input: Record<string, unknown>, worktree: string): string {
  const path = str(input.file_path) ?? str(input.notebook_path) ?? str(input.path);
  let detail: string | undefined;
  switch (tool) {
    case 'Bash':
      detail = str(input.command);
      break;
    case 'Grep':
    case 'Glob':
      detail = [str(input.pattern), path === undefined ? undefined : relativeTo(worktree, path)].filter(Boolean).join(' in ');
      break;
    case 'Task':
    case 'Agent':
      detail = str(input.description) ?? str(input.prompt);
      break;
    case 'WebFetch':
      detail = str(input.url);
      break;
    case 'WebSearch':
      detail = str(input.query);
      break;
    default:
      detail = path === undefined ? firstString(input) : relativeTo(worktree, path);
  }
  return clip(detail ? `${tool} ${detail}` : tool);
}

function relativeTo(worktree: string, path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(worktree, path);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}

function clip(text: string): string {
  const line = text.replace(/\s*\n[\s\S]*$/, ' …').trim();
  return line.length > SUMMARY_MAX ? line.slice(0, SUMMARY_MAX - 1) + '…' : line;
}

function firstString(input: Record<string, unknown>): string | undefined {
  for (const v of Object.values(input)) if (typeof v === 'string' && v.trim() !== '') return v;
  return undefined;
}

function parseObject(line: string): Record<string, unknown> | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * What an api_retry is, in words: claude labels a 529 overload `rate_limit` too, so the
 * HTTP status decides.
 */
function retryLabel(error: string, status: number | undefined): string {
  if (status === 429) return 'rate limited (HTTP 429)';
  if (status === 529) return 'API overloaded (HTTP 529)';
  return status === undefined ? error : `${error} (HTTP ${status})`;
}
