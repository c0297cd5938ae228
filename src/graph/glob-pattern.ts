/**
 * A glob, taken apart for intersection: brace-expanded into alternatives, each a list of
 * path segments, each segment a list of character tokens.
 *
 * Where a construct cannot be represented exactly (negated extglobs, repeats, POSIX
 * classes, brace sets too large to expand), it is replaced by something that matches
 * MORE, never less: a false conflict only serializes two tasks, a missed one lets them
 * write the same file.
 */

/** One character position: the code points in `ranges`, or (negated) any other. */
export interface CharSet {
  readonly negated: boolean;
  readonly ranges: readonly (readonly [number, number])[];
}

/** `star` is `*` inside a segment: any run of characters, possibly empty. */
export type SegToken = { readonly kind: 'char'; readonly set: CharSet } | { readonly kind: 'star' };

export type Segment =
  | { readonly kind: 'globstar' }
  /** `text` as written (escapes kept), `value` the one name it matches. */
  | { readonly kind: 'literal'; readonly text: string; readonly value: string }
  | { readonly kind: 'pattern'; readonly text: string; readonly tokens: readonly SegToken[] };

export interface Alternative {
  /** The expanded, normalized pattern text (picomatch can compile it). */
  readonly text: string;
  readonly segments: readonly Segment[];
  /** Leading literal segments: two alternatives can only meet if one's prefix starts the other's. */
  readonly prefix: readonly string[];
}

export interface CompiledGlob {
  readonly source: string;
  readonly alternatives: readonly Alternative[];
}

/** More alternatives than this and the pattern is treated as matching everything. */
const MAX_ALTERNATIVES = 256;

const GLOBSTAR: Segment = { kind: 'globstar' };
const EVERYTHING: readonly Alternative[] = [{ text: '**', segments: [GLOBSTAR], prefix: [] }];

/**
 * Path normalization shared by overlap and the "owns everything" check: `./x` is `x`,
 * `.` is the whole tree, `dir/` is everything under `dir`, `/x` is `x` (globs are
 * relative to the repository root).
 */
export function normalizeGlob(glob: string): string {
  let g = glob.trim().replace(/\/{2,}/g, '/');
  while (g.startsWith('./')) g = g.slice(2);
  while (g.startsWith('/')) g = g.slice(1);
  if (g === '' || g === '.') return '**';
  if (g.endsWith('/.')) g = g.slice(0, -1);
  if (g.endsWith('/')) g += '**';
  return g;
}

const cache = new Map<string, CompiledGlob>();

export function compileGlob(glob: string): CompiledGlob {
  const hit = cache.get(glob);
  if (hit !== undefined) return hit;
  const compiled = { source: glob, alternatives: alternativesOf(glob) };
  // The lease store compiles the globs of every live lease on every acquire; a bounded
  // cache keeps that cheap without growing forever in a long run.
  if (cache.size >= 10_000) cache.clear();
  cache.set(glob, compiled);
  return compiled;
}

/** A path of literal segments, perhaps ending in `/**`: most task globs, and the quickest to take apart. */
const SIMPLE = /^[^*?[\]{}()!+@\\]*(?:\/\*\*)?$/;

function alternativesOf(glob: string): readonly Alternative[] {
  const g = normalizeGlob(glob);
  if (SIMPLE.test(g)) return [simpleAlternative(g)];
  // A leading `!` (not an extglob) negates the whole pattern: it owns nearly everything.
  if (g.startsWith('!') && !g.startsWith('!(')) return EVERYTHING;
  const rewritten = rewriteExtglobs(g);
  if (rewritten === undefined) return EVERYTHING;
  const expanded = expandBraces(rewritten, MAX_ALTERNATIVES);
  if (expanded === undefined) return EVERYTHING;
  const seen = new Set<string>();
  const out: Alternative[] = [];
  for (const text of expanded) {
    const norm = normalizeGlob(text);
    if (seen.has(norm)) continue;
    seen.add(norm);
    out.push(toAlternative(norm));
  }
  return out;
}

/** What `toAlternative` makes of a SIMPLE pattern, without reading it a character at a time. */
function simpleAlternative(text: string): Alternative {
  const globstar = text === '**' || text.endsWith('/**');
  const parts = (globstar ? text.slice(0, -2) : text).split('/').filter((p) => p !== '');
  const segments: Segment[] = parts.map((part) => ({ kind: 'literal', text: part, value: part }));
  if (globstar || segments.length === 0) segments.push(GLOBSTAR);
  return { text, segments, prefix: parts };
}

export function toAlternative(text: string): Alternative {
  const segments: Segment[] = [];
  for (const part of splitSegments(text)) {
    if (part === '') continue;
    if (part === '**') {
      // `a/**/**/b` is `a/**/b`.
      if (segments.at(-1)?.kind !== 'globstar') segments.push(GLOBSTAR);
      continue;
    }
    if (!/[*?[\\]/.test(part)) {
      segments.push({ kind: 'literal', text: part, value: part });
      continue;
    }
    const tokens = tokenizeSegment(part);
    const literal = literalText(tokens);
    segments.push(literal === undefined ? { kind: 'pattern', text: part, tokens } : { kind: 'literal', text: part, value: literal });
  }
  if (segments.length === 0) segments.push(GLOBSTAR);
  const prefix: string[] = [];
  for (const s of segments) {
    if (s.kind !== 'literal') break;
    prefix.push(s.value);
  }
  return { text, segments, prefix };
}

/** Splits on unescaped `/`. */
function splitSegments(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[i + 1]!;
      i++;
    } else if (c === '/') {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function literalText(tokens: readonly SegToken[]): string | undefined {
  let s = '';
  for (const t of tokens) {
    if (t.kind !== 'char' || t.set.negated || t.set.ranges.length !== 1) return undefined;
    const [lo, hi] = t.set.ranges[0]!;
    if (lo !== hi) return undefined;
    s += String.fromCodePoint(lo);
  }
  return s;
}

const ANY_CHAR: CharSet = { negated: true, ranges: [] };
const literalTokens = new Map<number, SegToken>();
function lit(c: string): SegToken {
  const code = c.codePointAt(0)!;
  let token = literalTokens.get(code);
  if (token === undefined) literalTokens.set(code, (token = { kind: 'char', set: { negated: false, ranges: [[code, code]] } }));
  return token;
}

/** One segment (no unescaped `/`) into tokens. Extglobs were rewritten before this. */
export function tokenizeSegment(seg: string): SegToken[] {
  const out: SegToken[] = [];
  const chars = Array.from(seg);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) {
      out.push(lit(chars[++i]!));
    } else if (c === '*') {
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '?') {
      out.push({ kind: 'char', set: ANY_CHAR });
    } else if (c === '[') {
      const parsed = parseClass(chars, i);
      if (parsed === undefined) {
        out.push(lit(c));
      } else {
        if (parsed.set === undefined) {
          if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
        } else {
          out.push({ kind: 'char', set: parsed.set });
        }
        i = parsed.end;
      }
    } else {
      out.push(lit(c));
    }
  }
  return out;
}

/**
 * `[abc]`, `[a-z]`, `[^x]`; POSIX classes become "any character". picomatch does not
 * read `[!x]` as a negation (it matches `!` or `x`) while bash does, so a class opening
 * with `!` yields `set: undefined`, which the caller turns into `*`: a superset of both.
 */
function parseClass(chars: readonly string[], start: number): { set: CharSet | undefined; end: number } | undefined {
  let i = start + 1;
  let negated = false;
  const bang = chars[i] === '!';
  if (chars[i] === '^') {
    negated = true;
    i++;
  }
  const ranges: [number, number][] = [];
  let posix = false;
  let first = true;
  for (; i < chars.length; i++) {
    let c = chars[i]!;
    if (c === ']' && !first) {
      if (bang) return { set: undefined, end: i };
      if (posix) return { set: negated ? { negated: false, ranges: [] } : ANY_CHAR, end: i };
      return { set: { negated, ranges }, end: i };
    }
    first = false;
    if (c === '[' && chars[i + 1] === ':') {
      const close = chars.indexOf(']', i + 2);
      if (close < 0) return undefined;
      posix = true;
      i = close;
      continue;
    }
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    const lo = c.codePointAt(0)!;
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      let hiChar = chars[i + 2]!;
      i += 2;
      if (hiChar === '\\' && i + 1 < chars.length) hiChar = chars[++i]!;
      const hi = hiChar.codePointAt(0)!;
      ranges.push(lo <= hi ? [lo, hi] : [hi, lo]);
    } else {
      ranges.push([lo, lo]);
    }
  }
  return undefined;
}

/**
 * `@(a|b)` becomes `{a,b}` and `?(a|b)` becomes `{,a,b}` (exact); `*(..)`, `+(..)` and
 * `!(..)` become `*` (a superset within the segment), or `**` for a whole-segment `*(..)`. Returns undefined when an extglob
 * spans a `/` or cannot be read, so the caller treats the pattern as matching everything.
 */
function rewriteExtglobs(g: string): string | undefined {
  let out = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '\\' && i + 1 < g.length) {
      out += c + g[i + 1]!;
      i++;
      continue;
    }
    if ('@?*+!'.includes(c) && g[i + 1] === '(') {
      const close = matchingParen(g, i + 1);
      if (close < 0) return undefined;
      const body = g.slice(i + 2, close);
      if (body.includes('/')) return undefined;
      const simple = !/[(){},\\[\]*?+@!]/.test(body);
      if ((c === '@' || c === '?') && simple) {
        const alts = body.split('|');
        out += `{${c === '?' ? ',' : ''}${alts.join(',')}}`;
      } else if (c === '*' && (out === '' || out.endsWith('/')) && (close + 1 === g.length || g[close + 1] === '/')) {
        // A whole segment that can match nothing: picomatch then lets the segment vanish.
        out += '**';
      } else {
        out += '*';
      }
      i = close;
      continue;
    }
    out += c;
  }
  return out;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Brace expansion as picomatch reads it: `{a,b}` lists, `{1..3}` / `{a..c}` ranges
 * (with a step, and zero padding when an end is padded), nested; `{a}` stays literal.
 * Returns undefined beyond `limit` results.
 */
export function expandBraces(pattern: string, limit: number): string[] | undefined {
  const open = findBraceOpen(pattern);
  if (open === undefined) return [pattern];
  const { start, end, items } = open;
  const head = pattern.slice(0, start);
  const tail = pattern.slice(end + 1);
  const tails = expandBraces(tail, limit);
  if (tails === undefined) return undefined;
  const out: string[] = [];
  for (const item of items) {
    const inner = expandBraces(item, limit);
    if (inner === undefined) return undefined;
    for (const i of inner) {
      for (const t of tails) {
        out.push(head + i + t);
        if (out.length > limit) return undefined;
      }
    }
  }
  return out;
}

/** The first brace group that expands (has a top-level comma or is a range). */
function findBraceOpen(p: string): { start: number; end: number; items: string[] } | undefined {
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c !== '{') continue;
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i; j < p.length; j++) {
      const d = p[j]!;
      if (d === '\\') {
        j++;
        continue;
      }
      if (d === '{') depth++;
      else if (d === '}' && --depth === 0) {
        close = j;
        break;
      } else if (d === ',' && depth === 1) commas.push(j);
    }
    if (close < 0) return undefined;
    const body = p.slice(i + 1, close);
    if (commas.length > 0) {
      const items: string[] = [];
      let from = i + 1;
      for (const at of commas) {
        items.push(p.slice(from, at));
        from = at + 1;
      }
      items.push(p.slice(from, close));
      return { start: i, end: close, items };
    }
    const range = expandRange(body);
    if (range !== undefined) return { start: i, end: close, items: range };
    // `{a}` is literal; look for a group further on (or nested inside it).
  }
  return undefined;
}

function expandRange(body: string): string[] | undefined {
  const m = /^(-?\d+|[a-zA-Z])\.\.(-?\d+|[a-zA-Z])(?:\.\.(-?\d+))?$/.exec(body);
  if (m === null) return undefined;
  const [, a, b, stepText] = m as unknown as [string, string, string, string | undefined];
  const step = Math.max(1, Math.abs(Number(stepText ?? '1')));
  const numeric = /\d/.test(a) && /\d/.test(b);
  if (!numeric && (/\d/.test(a) || /\d/.test(b))) return undefined;
  const from = numeric ? Number(a) : a.codePointAt(0)!;
  const to = numeric ? Number(b) : b.codePointAt(0)!;
  if (Math.abs(to - from) / step > MAX_ALTERNATIVES) return undefined;
  const pad = numeric && (/^-?0\d/.test(a) || /^-?0\d/.test(b)) ? Math.max(a.length, b.length) : 0;
  const out: string[] = [];
  const dir = to >= from ? 1 : -1;
  for (let v = from; dir > 0 ? v <= to : v >= to; v += dir * step) {
    if (!numeric) out.push(String.fromCodePoint(v));
    else if (pad > 0) out.push((v < 0 ? '-' : '') + String(Math.abs(v)).padStart(pad - (v < 0 ? 1 : 0), '0'));
    else out.push(String(v));
  }
  return out;
}
