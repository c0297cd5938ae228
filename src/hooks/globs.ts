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
  return (path) => {
    const p = normalizePath(path);
    return !isSwarmPath(p) && match(p);
  };
}

/**
 * `.swarm/` is swarm's own folder (state.db, the guard hooks): no task owns it, whatever its
 * globs (even `**`). Committed on a task branch, it would reach the integration branch, and
 * merging that into a checkout overwrites the real, ignored folder: the state and the guard.
 */
export function isSwarmPath(path: string): boolean {
  return path === '.swarm' || path.startsWith('.swarm/');
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
