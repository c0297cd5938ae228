/**
 * Turns one line of `.swarm/logs/<run>/<task>.<attempt>.jsonl` into what `swarm logs`
 * prints. The file mixes three kinds of lines: claude's raw stream-json objects,
 * `{t, stream: 'stdout'|'stderr', line}` from command agents (and claude's stderr), and
 * `{t, stream: 'check'|'setup', line}` that the engine appends for the task's commands.
 * Pure, so it is tested on recorded lines.
 */
import { suggestRule } from '../agents/permission-hint.js';
import { toolSummary } from '../agents/stream-json.js';
import { deniedText } from '../engine/events.js';
import { formatDuration } from '../util/duration.js';

const RESULT_LINES = 3;
const RESULT_WIDTH = 160;

/** The lines to print for one log line (none for lines that carry nothing worth reading). */
export function renderLogLine(raw: string, worktree: string): string[] {
  const text = raw.trim();
  if (text === '') return [];
  let msg: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [text];
    msg = parsed as Record<string, unknown>;
  } catch {
    return [text];
  }
  if (typeof msg.stream === 'string' && typeof msg.line === 'string') return [streamLine(msg.stream, msg.line)];
  switch (msg.type) {
    case 'system':
      return system(msg);
    case 'assistant':
      return assistant(msg, worktree);
    case 'user':
      return toolResults(msg);
    case 'result':
      return [result(msg), ...denials(msg, worktree)];
    default:
      return [];
  }
}

function streamLine(stream: string, line: string): string {
  switch (stream) {
    case 'stdout':
      return line;
    case 'stderr':
      return `stderr │ ${line}`;
    case 'check':
      return `check  │ ${line}`;
    case 'setup':
      return `setup  │ ${line}`;
    default:
      return `${stream} │ ${line}`;
  }
}

function system(msg: Record<string, unknown>): string[] {
  if (msg.subtype === 'init') {
    const model = str(msg.model);
    return [`· session ${str(msg.session_id) ?? '?'}${model ? ` (${model})` : ''}`];
  }
  if (msg.subtype === 'api_retry') {
    const delay = num(msg.retry_delay_ms);
    const status = num(msg.error_status);
    return [
      `⚠ API retry ${num(msg.attempt) ?? '?'}${num(msg.max_retries) !== undefined ? `/${num(msg.max_retries)}` : ''}: ${str(msg.error) ?? 'error'}${status !== undefined ? ` (${status})` : ''}${delay !== undefined ? `, waiting ${formatDuration(delay)}` : ''}`,
    ];
  }
  return [];
}

function assistant(msg: Record<string, unknown>, worktree: string): string[] {
  const out: string[] = [];
  for (const block of blocks(msg)) {
    if (block.type === 'text') {
      const text = str(block.text)?.trimEnd();
      if (text) out.push(...text.split('\n'));
    } else if (block.type === 'tool_use') {
      const input = block.input !== null && typeof block.input === 'object' ? (block.input as Record<string, unknown>) : {};
      out.push(`→ ${toolSummary(str(block.name) ?? 'tool', input, worktree)}`);
    }
  }
  return out;
}

/** Tool results, abbreviated: the first lines, and how many more there were. */
function toolResults(msg: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const block of blocks(msg)) {
    if (block.type !== 'tool_result') continue;
    const content = resultText(block.content).trim();
    const lines = content === '' ? ['(no output)'] : content.split('\n');
    const shown = lines.slice(0, RESULT_LINES).map((l) => (l.length > RESULT_WIDTH ? `${l.slice(0, RESULT_WIDTH - 1)}…` : l));
    const more = lines.length > RESULT_LINES ? ` … (${lines.length - RESULT_LINES} more lines)` : '';
    const mark = block.is_error === true ? '✗' : '←';
    for (const [i, l] of shown.entries()) out.push(`  ${i === 0 ? mark : ' '} ${l}${i === shown.length - 1 ? more : ''}`);
  }
  return out;
}

function result(msg: Record<string, unknown>): string {
  const ok = msg.is_error === false;
  const facts = [
    num(msg.total_cost_usd) !== undefined ? `$${num(msg.total_cost_usd)!.toFixed(2)}` : undefined,
    num(msg.num_turns) !== undefined ? `${num(msg.num_turns)} turns` : undefined,
    num(msg.duration_ms) !== undefined ? formatDuration(num(msg.duration_ms)!) : undefined,
  ].filter(Boolean);
  const text = (str(msg.result) ?? str(msg.subtype) ?? '').trim();
  return `${ok ? '✓ done' : '✗ failed'}${facts.length ? ` (${facts.join(', ')})` : ''}${text ? `: ${text}` : ''}`;
}

/** The tool calls Claude Code refused (its result lists them), each with the allowed_tools hint. */
function denials(msg: Record<string, unknown>, worktree: string): string[] {
  if (!Array.isArray(msg.permission_denials)) return [];
  return msg.permission_denials.flatMap((d: unknown) => {
    if (d === null || typeof d !== 'object') return [];
    const tool = str((d as { tool_name?: unknown }).tool_name);
    if (tool === undefined) return [];
    const raw = (d as { tool_input?: unknown }).tool_input;
    const input = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
    return [`⚠ ${deniedText({ summary: toolSummary(tool, input, worktree), suggestion: suggestRule(tool, input) })}`];
  });
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((c) => (c !== null && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string' ? (c as { text: string }).text : ''))
      .join('\n');
  }
  return '';
}

function blocks(msg: Record<string, unknown>): Record<string, unknown>[] {
  const message = msg.message;
  if (message === null || typeof message !== 'object') return [];
  const content = (message as { content?: unknown }).content;
  if (!Array.isArray(content)) return [];
  return content.filter((b): b is Record<string, unknown> => b !== null && typeof b === 'object' && !Array.isArray(b));
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
