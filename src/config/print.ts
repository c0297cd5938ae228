import { readFileSync } from 'node:fs';
import type { Diagnostic } from './diagnostic.js';
import { sortDiagnostics } from './sort-diagnostics.js';
import type { SourceLoc } from './spec.js';

export interface FormatOptions {
  /** ANSI colors; callers turn this on for a terminal without NO_COLOR. */
  readonly color?: boolean;
}

const ansi = (code: string) => (on: boolean, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = ansi('1');
const red = ansi('1;31');
const yellow = ansi('1;33');
const cyan = ansi('1;36');
const dim = ansi('2');

/**
 * Diagnostics as a compiler prints them, sorted by place:
 *
 *     swarm.yaml:12:7 error: unknown key "dependson" (did you mean "depends_on"?)
 *       12 |     dependson: [a]
 *          |     ^~~~~~~~~
 *
 * Related places (one per edge of a cycle, the first of two duplicates) follow as notes.
 */
export function formatDiagnostics(diags: readonly Diagnostic[], readSource: (file: string) => string | undefined, opts: FormatOptions = {}): string {
  const color = opts.color === true;
  const sources = new Map<string, readonly string[] | undefined>();
  const linesOf = (file: string): readonly string[] | undefined => {
    if (!sources.has(file)) {
      const text = readSource(file);
      sources.set(file, text === undefined ? undefined : text.split(/\r?\n/));
    }
    return sources.get(file);
  };

  const blocks: string[] = [];
  for (const d of sortDiagnostics(diags)) {
    const label = d.severity === 'error' ? red(color, 'error') : yellow(color, 'warning');
    const lines = [headline(d.loc, label, d.message, color), ...excerpt(d.loc, linesOf, color)];
    for (const note of d.related ?? []) {
      lines.push(headline(note.loc, cyan(color, 'note'), note.message, color), ...excerpt(note.loc, linesOf, color));
    }
    blocks.push(lines.join('\n'));
  }
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`;
}

/** `N errors` / `1 error and 2 warnings`, for the last line of a report. */
export function summarizeDiagnostics(diags: readonly Diagnostic[]): string {
  const errors = diags.filter((d) => d.severity === 'error').length;
  const warnings = diags.length - errors;
  const parts = [];
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.length === 0 ? 'no problems' : parts.join(' and ');
}

/** The file's text, or undefined when it cannot be read; the usual `readSource`. */
export function readSourceFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function headline(loc: SourceLoc | undefined, label: string, message: string, color: boolean): string {
  if (loc === undefined) return `${label}: ${message}`;
  return `${bold(color, `${loc.file}:${loc.line}:${loc.col}`)} ${label}: ${message}`;
}

function excerpt(loc: SourceLoc | undefined, linesOf: (file: string) => readonly string[] | undefined, color: boolean): string[] {
  if (loc === undefined) return [];
  const source = linesOf(loc.file)?.[loc.line - 1];
  if (source === undefined) return [];
  // Tabs become one space each so that columns (counted in characters) still line up.
  const text = source.replace(/\t/g, ' ');
  const start = Math.min(Math.max(loc.col, 1), text.length + 1);
  const end = loc.endLine > loc.line ? text.length + 1 : Math.min(Math.max(loc.endCol, start + 1), text.length + 1);
  const width = Math.max(1, end - start);
  const number = String(loc.line);
  const gutter = ' '.repeat(number.length);
  const marker = `^${'~'.repeat(width - 1)}`;
  return [`  ${dim(color, `${number} |`)} ${text}`, `  ${dim(color, `${gutter} |`)} ${' '.repeat(start - 1)}${color ? red(true, marker) : marker}`];
}
