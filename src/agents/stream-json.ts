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
 * - The result's `permission_denials: [{tool_name, tool_use_id, tool_input}]`: tool calls
 *   Claude Code refused (under acceptEdits, any Bash command that is not read-only and not
 *   in `--allowedTools`). The model only got an error back, and the run still ends
 *   `is_error:false`, so nothing else tells the user. The refusal's text is in the tool
 *   result (a `user` line): "This Bash command contains multiple operations. The following
 *   part requires approval: npm test 2>&1" names the part that needs a rule.
 * - Authentication: a 401 is retried by claude (`api_retry` with `error_status:401,
 *   error:"authentication_failed"`, 10 times with backoff, minutes); then, like a missing
 *   login (no request made at all), an `assistant` line with `error:"authentication_failed"`
 *   and text "Invalid API key · Fix external API key" / "Not logged in · Please run /login",
 *   and a result with `is_error:true` (`api_error_status:401` for the former, null for the latter).
 * - Usage limits (a claude.ai login: `CLAUDE_CODE_OAUTH_TOKEN` or /login; an API key never
 *   sees these): the Messages API answers 429 with `anthropic-ratelimit-unified-status:
 *   rejected` and `anthropic-ratelimit-unified-reset: <unix seconds>` (and
 *   `-representative-claim: five_hour`). Claude does not retry it; it prints
 *   `{type:"rate_limit_event", rate_limit_info:{status:"rejected", resetsAt:<seconds>,
 *   rateLimitType}}`, an `assistant` line with `error:"rate_limit"` and text "You've hit
 *   your session limit · resets 1:17am (UTC)", and a result with `is_error:true,
 *   api_error_status:429`, exit 1. `allowed`/`allowed_warning` events are only news.
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
  /** Tool calls Claude Code refused, in order. */
  readonly denials: readonly Denial[];
  /** The API answered 401 (an invalid key, a revoked login) or there was no login at all. */
  readonly authFailed: boolean;
}

export interface Denial {
  readonly toolUseId?: string;
  readonly tool: string;
  readonly input: Record<string, unknown>;
}

/** What a refused tool call's result said needs approval; matched to its denial by id. */
export interface Refusal {
  readonly reason: 'refusal';
  readonly toolUseId: string;
  readonly text: string;
}

/** An `assistant` line flagged `error:"authentication_failed"`: the login or key was refused. */
export interface AuthError {
  readonly reason: 'auth-error';
  readonly message?: string;
}

/** A `rate_limit_event` with status `rejected`: the account's usage limit is reached. */
export interface UsageLimitHit {
  readonly reason: 'usage-limit';
  /** When it resets, in ms since the epoch, when claude said. */
  readonly resetsAt?: number;
}

export type StreamItem = AgentOutput | ClaudeResult | Refusal | AuthError | UsageLimitHit;

const SUMMARY_MAX = 120;

/** Events in one stream-json line; [] for lines that carry nothing for us or are not JSON. */
export function parseStreamLine(line: string, worktree: string): StreamItem[] {
  const msg = parseObject(line);
  if (!msg) return [];
  switch (msg.type) {
    case 'system':
      return parseSystem(msg);
    case 'assistant':
      return msg.error === 'authentication_failed' ? [authError(msg)] : parseAssistant(msg, worktree);
    case 'user':
      return parseRefusals(msg);
    case 'result':
      return [parseResult(msg)];
    case 'rate_limit_event':
      return parseRateLimit(msg);
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

function parseRateLimit(msg: Record<string, unknown>): StreamItem[] {
  const info = obj(msg.rate_limit_info);
  if (info?.status !== 'rejected') return [];
  const at = num(info.resetsAt);
  // Seconds since the epoch (the header's unit); a value already in ms is taken as it is.
  return [at === undefined ? { reason: 'usage-limit' } : { reason: 'usage-limit', resetsAt: at < 1e11 ? at * 1000 : at }];
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

function authError(msg: Record<string, unknown>): AuthError {
  const content = obj(msg.message)?.content;
  const text = Array.isArray(content)
    ? content
        .map((b) => str(obj(b)?.text) ?? '')
        .join(' ')
        .trim()
    : '';
  return text === '' ? { reason: 'auth-error' } : { reason: 'auth-error', message: text };
}

/** Tool results that Claude Code's permission check wrote (the model's own tool errors say otherwise). */
function parseRefusals(msg: Record<string, unknown>): StreamItem[] {
  const content = obj(msg.message)?.content;
  if (!Array.isArray(content)) return [];
  const out: StreamItem[] = [];
  for (const raw of content) {
    const block = obj(raw);
    const id = str(block?.tool_use_id);
    const text = typeof block?.content === 'string' ? block.content : undefined;
    if (block?.type !== 'tool_result' || block.is_error !== true || id === undefined || text === undefined) continue;
    if (/requires? approval|permission/i.test(text)) out.push({ reason: 'refusal', toolUseId: id, text });
  }
  return out;
}

function parseDenials(v: unknown): Denial[] {
  if (!Array.isArray(v)) return [];
  const out: Denial[] = [];
  for (const raw of v) {
    const d = obj(raw);
    const tool = str(d?.tool_name);
    if (d === undefined || tool === undefined) continue;
    out.push({ tool, input: obj(d.tool_input) ?? {}, ...optional('toolUseId', str(d.tool_use_id)) });
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
    denials: parseDenials(msg.permission_denials),
    authFailed: msg.api_error_status === 401 || msg.api_error_status === 403,
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
  return line.length > SUMMARY_MAX ? `${line.slice(0, SUMMARY_MAX - 1)}…` : line;
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
  if (status === 401) return 'authentication failed (HTTP 401)';
  return status === undefined ? error : `${error} (HTTP ${status})`;
}
