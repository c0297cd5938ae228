import picomatch from 'picomatch';

/**
 * A task's globs as written in swarm.yaml, made into one matcher over paths relative to the
 * worktree root (forward slashes). `./x` is `x`, a trailing `/` owns the folder's contents,
 * and `.` owns everything; dotfiles match like any other file.
 */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  const patterns = globs.map(normalizeGlob);
  if (patterns.length === 0) return () => false;
  // `s`: a file name may hold a newline (git allows it), and picomatch's `.` would stop there.
  const match = picomatch(patterns, { dot: true, flags: 's' });
  return (path) => match(normalizePath(path));
}

export function normalizeGlob(glob: string): string {
  let g = glob.trim().replaceAll('\\', '/');
  while (g.startsWith('./')) g = g.slice(2);
  if (g === '.' || g === '') return '**';
  if (g.endsWith('/')) g = `${g}**`;
  return g;
}

/**
 * A path as git and the hooks give it: `/`-separated. A backslash is part of a file name on
 * POSIX (`src\x.txt` is a file at the root, not in `src/`), so it is never read as a separator.
 */
export function normalizePath(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}
