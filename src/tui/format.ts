import { formatDuration } from '../util/duration.js';

// Terminal text comes from agents and commands: colour codes, cursor moves and carriage
// returns would corrupt the frame Ink draws, so they are dropped before anything is stored.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** One printable line: no escape sequences, no control characters, tabs as spaces. */
export function sanitize(text: string): string {
  return text.replace(ANSI, '').replace(/\t/g, '  ').replace(CONTROL, '');
}

/** Splits agent or check output into printable lines, dropping blank trailing ones. */
export function toLines(text: string): string[] {
  const lines = text.split(/\r?\n|\r/).map(sanitize);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

/** Cuts `text` to `width` cells, ending with `…` when it had to cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  if (width === 1) return '…';
  return `${chars.slice(0, width - 1).join('')}…`;
}

/** Truncates, then pads with spaces on the right (or left with `alignRight`) to exactly `width`. */
export function fit(text: string, width: number, alignRight = false): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - Array.from(cut).length));
  return alignRight ? pad + cut : cut + pad;
}

export function money(usd: number): string {
  if (usd <= 0) return '$0';
  if (usd < 10) return `$${usd.toFixed(2)}`;
  if (usd < 1000) return `$${usd.toFixed(1)}`;
  return `$${Math.round(usd)}`;
}

/** Elapsed time for a column: never negative, whole seconds under a minute. */
export function elapsed(ms: number): string {
  return formatDuration(Math.max(0, Math.floor(ms / 1000) * 1000));
}

/** `[█████░░░░░]`-style bar of `width` cells (brackets included). */
export function progressBar(done: number, total: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(ratio * inner);
  return `[${'█'.repeat(full)}${'░'.repeat(inner - full)}]`;
}

/** Quotes a path for a shell command line only when it needs it. */
export function shellArg(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
