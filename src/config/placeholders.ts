/**
 * Template placeholders: `{{path}}`, `{{dir}}`, `{{name}}`, `{{stem}}`, `{{index}}`,
 * `{{paths}}`. Double braces, so they never clash with glob braces (`*.{ts,tsx}`) or the
 * command agent's `{prompt_file}`. Pure: no fs, no git.
 */
import { ID_PATTERN } from './ref-name.js';

export const PLACEHOLDERS = ['path', 'dir', 'name', 'stem', 'index', 'paths'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const KNOWN: ReadonlySet<string> = new Set(PLACEHOLDERS);

/** `{{ word }}`; spaces inside the braces are allowed. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** An id as written on a template: a plain id, or id characters and placeholders. */
export const TEMPLATE_ID_PATTERN = new RegExp(
  `^(?:${ID_PATTERN.source.slice(1, -1)})$|^(?=.*\\{\\{)(?:[a-z0-9._-]|\\{\\{\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\}\\})+$`,
);

export function hasPlaceholder(text: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(text);
}

/** Placeholder names in `text` that swarm does not know, each once, in order of appearance. */
export function unknownPlaceholders(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!KNOWN.has(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Whether `text` uses a placeholder that stands for one match (`{{paths}}` and `{{index}}` do not). */
export function usesPerMatch(text: string): boolean {
  for (const m of text.matchAll(PLACEHOLDER)) if (m[1] !== 'paths' && m[1] !== 'index') return true;
  return false;
}

export type Values = Readonly<Record<Placeholder, string>>;

/**
 * `text` with every known placeholder replaced; `quote` transforms each value first (for
 * a shell command or a glob). Unknown placeholders are left as written (checked before).
 */
export function fill(text: string, values: Values, quote?: (value: string) => string): string {
  if (!text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!KNOWN.has(name)) return whole;
    const value = values[name as Placeholder];
    return quote === undefined ? value : quote(value);
  });
}

/** A value in a POSIX shell command: as it is when it is plain, else in single quotes. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:@%+,=-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A path in a glob: its glob characters escaped, so `src/[id]` owns that folder, not `src/i`. */
export function globEscape(value: string): string {
  return value.replace(/[\\*?[\]{}()!+@|]/g, (c) => `\\${c}`);
}

/** The values of one match (or one batch of matches; the first stands for `path` and its kin). */
export function valuesOf(kind: 'dirs' | 'files' | 'values', matches: readonly string[], index: number): Values {
  const path = matches[0] ?? '';
  const slash = path.lastIndexOf('/');
  const name = kind === 'values' ? path : path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return {
    path,
    dir: kind === 'dirs' || kind === 'values' ? path : slash < 0 ? '.' : path.slice(0, slash),
    name,
    stem: dot > 0 ? name.slice(0, dot) : name,
    index: String(index),
    paths: matches.join('\n'),
  };
}
