import picomatch from 'picomatch';
import { alternativesIntersect } from './glob-intersect.js';
import { compileGlob, normalizeGlob } from './glob-pattern.js';

/**
 * Two glob sets conflict when some pattern of each can match a common path (decided
 * segment by segment, see glob-intersect.ts), or when one of `paths` (the repository's
 * tracked files) matches both. Anything that cannot be decided exactly counts as a
 * conflict: a false conflict only serializes two tasks, a missed one corrupts work.
 */
export function globSetsOverlap(a: readonly string[], b: readonly string[], paths: readonly string[] = []): boolean {
  return overlappingGlobs(a, b) !== undefined || (paths.length > 0 && sharedPath(a, b, paths) !== undefined);
}

/** Whether two globs can match a common path. Symmetric. */
export function globsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const x = compileGlob(a).alternatives;
  const y = compileGlob(b).alternatives;
  return x.some((p) => y.some((q) => alternativesIntersect(p, q)));
}

/** The first pair (in the sets' own order) that overlaps, for reporting. */
export function overlappingGlobs(a: readonly string[], b: readonly string[]): { globA: string; globB: string } | undefined {
  for (const x of a) for (const y of b) if (globsOverlap(x, y)) return { globA: x, globB: y };
  return undefined;
}

/** The first of `paths` matched by both sets. */
export function sharedPath(a: readonly string[], b: readonly string[], paths: readonly string[]): string | undefined {
  const ma = matcher(a);
  const mb = matcher(b);
  return paths.find((p) => ma(p) && mb(p));
}

/**
 * How swarm matches a path against a task's globs everywhere (hooks, audits, overlap):
 * picomatch with dotfiles included, on the normalized pattern.
 */
export function matcher(globs: readonly string[]): (path: string) => boolean {
  const m = picomatch(globs.map(normalizeGlob), { dot: true });
  return (path) => m(path);
}

/**
 * Patterns that own the whole tree: `**`, `*`, `.`, `**\/*` and their spellings
 * (`./`, `./**`, `*\/**`, ...). Such a task may only run alone.
 */
export function ownsEverything(glob: string): boolean {
  if (!/^[\s*/.]*$/.test(glob)) return false;
  const g = normalizeGlob(glob);
  if (g === '*') return true;
  const parts = g.split('/');
  return parts.includes('**') && parts.every((p) => p === '**' || p === '*');
}
