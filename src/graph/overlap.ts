import picomatch from 'picomatch';

/**
 * PLACEHOLDER (the graph work replaces this with segment-by-segment glob intersection).
 * Two glob sets conflict when some pattern of each can match a common path, or when one
 * of `paths` (the repository's tracked files) matches both.
 */
export function globSetsOverlap(a: readonly string[], b: readonly string[], paths: readonly string[] = []): boolean {
  for (const x of a) for (const y of b) if (globsOverlap(x, y)) return true;
  if (paths.length > 0) {
    const ma = picomatch([...a], { dot: true });
    const mb = picomatch([...b], { dot: true });
    return paths.some((p) => ma(p) && mb(p));
  }
  return false;
}

export function globsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  return picomatch(a, { dot: true })(b) || picomatch(b, { dot: true })(a) || a.startsWith('**') || b.startsWith('**');
}
