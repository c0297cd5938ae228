import { globMatcher, normalizePath } from './globs.js';

/**
 * The paths (relative to the repository root) that none of `globs` owns, sorted and without
 * duplicates. The engine runs it on a task's diff (both names of a rename) before merging.
 */
export function auditPaths(paths: readonly string[], globs: readonly string[]): string[] {
  const owned = globMatcher(globs);
  const outside = new Set<string>();
  for (const path of paths) if (!owned(path)) outside.add(normalizePath(path));
  return [...outside].sort();
}
