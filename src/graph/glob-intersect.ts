/**
 * Can two globs match a common path? Decided on the product of the two patterns: segment
 * by segment (with `**` eating any number of segments on either side), and inside a
 * segment character by character (with `*` eating any run on either side). Both sides are
 * walked at once, so the test is symmetric by construction.
 *
 * Dotfile rules are ignored on purpose (as if `dot: true`): that can only add conflicts.
 */
import type { Alternative, CharSet, Segment, SegToken } from './glob-pattern.js';

export function alternativesIntersect(a: Alternative, b: Alternative): boolean {
  if (!prefixesCompatible(a.prefix, b.prefix)) return false;
  return segmentsIntersect(a.segments, b.segments);
}

/** Leading literal segments must agree as far as both go. */
export function prefixesCompatible(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function segmentsIntersect(a: readonly Segment[], b: readonly Segment[]): boolean {
  const n = a.length;
  const m = b.length;
  const seen = new Uint8Array((n + 1) * (m + 1));
  const stack: number[] = [0, 0];
  while (stack.length > 0) {
    const j = stack.pop()!;
    const i = stack.pop()!;
    const key = i * (m + 1) + j;
    if (seen[key] === 1) continue;
    seen[key] = 1;
    if (i === n && j === m) return true;
    const x = a[i];
    const y = b[j];
    if (x?.kind === 'globstar') {
      stack.push(i + 1, j); // `**` matches no segment
      if (y !== undefined) stack.push(i, j + 1); // `**` takes b's segment (or b's `**` takes none)
    }
    if (y?.kind === 'globstar') {
      stack.push(i, j + 1);
      if (x !== undefined) stack.push(i + 1, j);
    }
    if (x !== undefined && y !== undefined && x.kind !== 'globstar' && y.kind !== 'globstar' && segmentPairMeets(x, y)) {
      stack.push(i + 1, j + 1);
    }
  }
  return false;
}

const segmentCache = new Map<string, boolean>();

function segmentPairMeets(x: Exclude<Segment, { kind: 'globstar' }>, y: Exclude<Segment, { kind: 'globstar' }>): boolean {
  if (x.kind === 'literal' && y.kind === 'literal') return x.value === y.value;
  const key = x.text < y.text ? `${x.text}\0${y.text}` : `${y.text}\0${x.text}`;
  const hit = segmentCache.get(key);
  if (hit !== undefined) return hit;
  const result = tokensIntersect(tokensOf(x), tokensOf(y));
  if (segmentCache.size >= 50_000) segmentCache.clear();
  segmentCache.set(key, result);
  return result;
}

function tokensOf(s: Exclude<Segment, { kind: 'globstar' }>): readonly SegToken[] {
  if (s.kind === 'pattern') return s.tokens;
  return Array.from(s.value, (c) => ({ kind: 'char', set: { negated: false, ranges: [[c.codePointAt(0)!, c.codePointAt(0)!]] } }) as const);
}

/** Is there a non-empty string matched by both token lists? */
function tokensIntersect(a: readonly SegToken[], b: readonly SegToken[]): boolean {
  const n = a.length;
  const m = b.length;
  const seen = new Uint8Array((n + 1) * (m + 1) * 2);
  // The third coordinate records whether a character has been consumed yet: a path
  // segment is never empty, so `*` against `*` must still produce one character.
  const stack: number[] = [0, 0, 0];
  while (stack.length > 0) {
    const used = stack.pop()!;
    const j = stack.pop()!;
    const i = stack.pop()!;
    const key = (i * (m + 1) + j) * 2 + used;
    if (seen[key] === 1) continue;
    seen[key] = 1;
    if (i === n && j === m) {
      if (used === 1) return true;
      continue;
    }
    const x = a[i];
    const y = b[j];
    if (x?.kind === 'star') {
      stack.push(i + 1, j, used);
      if (y?.kind === 'char') stack.push(i, j + 1, 1);
      if (y?.kind === 'star') stack.push(i, j, 1);
    }
    if (y?.kind === 'star') {
      stack.push(i, j + 1, used);
      if (x?.kind === 'char') stack.push(i + 1, j, 1);
    }
    if (x?.kind === 'char' && y?.kind === 'char' && charSetsMeet(x.set, y.set)) stack.push(i + 1, j + 1, 1);
  }
  return false;
}

/** Ranges wider than this are assumed to hold a character outside the other set. */
const SCAN_LIMIT = 4096;

export function charSetsMeet(x: CharSet, y: CharSet): boolean {
  if (x.negated && y.negated) return true;
  if (!x.negated && !y.negated) {
    return x.ranges.some(([lo, hi]) => y.ranges.some(([lo2, hi2]) => lo <= hi2 && lo2 <= hi));
  }
  const pos = x.negated ? y : x;
  const neg = x.negated ? x : y;
  for (const [lo, hi] of pos.ranges) {
    if (hi - lo > SCAN_LIMIT) return true;
    for (let c = lo; c <= hi; c++) {
      if (c !== 0x2f && !neg.ranges.some(([l, h]) => c >= l && c <= h)) return true;
    }
  }
  return false;
}
