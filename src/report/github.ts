/**
 * GitHub Actions' side of the plain output, when `GITHUB_ACTIONS=true`: workflow commands
 * (`::group::`, `::error file=...::`), the job summary file and the step outputs file, as
 * https://docs.github.com/actions/reference/workflow-commands-for-github-actions describes
 * them. Pure string building, plus two appends to the files the runner names.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../config/diagnostic.js';
import type { SourceLoc } from '../config/spec.js';

/** GitHub's job summary may hold at most 1 MiB per step; more and the runner drops it with an error. */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;

export function inGithubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** A command's message: `%`, CR and LF escaped (the toolkit's escapeData). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A command's property value: as a message, and `:` and `,` too, which end a property. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export interface Annotation {
  readonly level: 'error' | 'warning' | 'notice';
  readonly message: string;
  readonly title?: string;
  /** Relative to the repository root (see annotationPath), so GitHub can show it beside the file. */
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

/** `::error file=swarm.yaml,line=12,col=7,title=...::message`, one line. */
export function annotation(a: Annotation): string {
  const props: string[] = [];
  const put = (key: string, value: string | number | undefined) => {
    if (value !== undefined) props.push(`${key}=${escapeProperty(String(value))}`);
  };
  put('file', a.file);
  put('line', a.line);
  put('col', a.col);
  put('endLine', a.endLine);
  put('endColumn', a.endColumn);
  put('title', a.title);
  return `::${a.level}${props.length > 0 ? ` ${props.join(',')}` : ''}::${escapeData(a.message)}`;
}

/**
 * Text that is not a command, made safe to print: the runner takes any line that starts
 * with `::` (after blanks; CR ends a line too) for a command, so an agent's words could
 * forge an annotation or `::stop-commands::`. A zero-width space after the first colon
 * leaves the line readable and inert.
 */
export function defuse(text: string): string {
  return text.replace(/(^|\r\n|\r|\n)([ \t]*)::/g, '$1$2:\u200b:');
}

/** The start of a fold in the job log; the title is one line. */
export function groupStart(title: string): string {
  return `::group::${escapeData(title.replace(/\s+/g, ' ').trim())}`;
}

export const GROUP_END = '::endgroup::';

/**
 * A path as GitHub wants it in an annotation: relative to the workspace (the checkout),
 * with `/`. Outside the workspace it stays absolute (GitHub then shows no file link).
 */
export function annotationPath(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const abs = resolve(file);
  const root = env.GITHUB_WORKSPACE ? resolve(env.GITHUB_WORKSPACE) : process.cwd();
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return abs;
  return rel.split(sep).join('/');
}

/** Where a place in the file goes in an annotation. */
export function locProps(loc: SourceLoc, env: NodeJS.ProcessEnv = process.env): Pick<Annotation, 'file' | 'line' | 'col' | 'endLine' | 'endColumn'> {
  return {
    file: annotationPath(loc.file, env),
    line: loc.line,
    col: loc.col,
    ...(loc.endLine === loc.line ? { endColumn: loc.endCol } : { endLine: loc.endLine }),
  };
}

/** Config diagnostics as annotations: one per problem, its related places (a cycle's edges) in the message. */
export function diagnosticAnnotations(diags: readonly Diagnostic[], env: NodeJS.ProcessEnv = process.env): string[] {
  return diags.map((d) => {
    const notes = (d.related ?? []).map((r) => `\n${annotationPath(r.loc.file, env)}:${r.loc.line}:${r.loc.col}: ${r.message}`);
    return annotation({
      level: d.severity,
      title: 'swarm: invalid swarm file',
      message: `${d.message}${notes.join('')}`,
      ...(d.loc ? locProps(d.loc, env) : {}),
    });
  });
}

/**
 * Step outputs in the file's own syntax: `name<<DELIMITER`, the value, `DELIMITER`, so a
 * value may span lines. The delimiter is random and checked against the value, as the
 * toolkit does, so a task id or message can never end the value early.
 */
export function outputEntries(values: Readonly<Record<string, string>>, delimiter = `ghadelimiter_${randomUUID()}`): string {
  let out = '';
  for (const [name, value] of Object.entries(values)) {
    if (name.includes(delimiter) || value.includes(delimiter)) throw new Error(`output ${name}: its value holds the delimiter`);
    out += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  return out;
}

export function appendOutputs(file: string, values: Readonly<Record<string, string>>): void {
  appendFileSync(file, outputEntries(values));
}

/** How many bytes a summary may still add to the step's summary file. */
export function summaryRoom(file: string): number {
  let used = 0;
  try {
    used = statSync(file).size;
  } catch {
    // not there yet: nothing used
  }
  return Math.max(0, STEP_SUMMARY_LIMIT - used);
}
