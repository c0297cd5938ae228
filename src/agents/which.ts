import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { err, ok, type Result } from '../util/result.js';

/**
 * Finds an executable the way spawn will: a name with a slash is a path (relative to
 * `cwd`), a bare name is looked up on PATH. Returns the path found, or what was tried.
 */
export function findExecutable(bin: string, cwd: string, path: string | undefined): Result<string, string> {
  if (bin.includes('/') || isAbsolute(bin)) {
    const full = resolve(cwd, bin);
    if (isExecutable(full)) return ok(full);
    return err(`${bin} not found or not executable (looked at ${full})`);
  }
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const full = join(dir, bin);
    if (isExecutable(full)) return ok(full);
  }
  return err(`${bin} not found on PATH`);
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Relative program paths (`./bin/agent`, `node_modules/.bin/claude`) are resolved where
 * preflight found them, the repository root, not in each task's worktree: a worktree holds
 * only tracked files, so an untracked tool such as `node_modules/.bin/claude` exists only
 * in the user's checkout. Bare names keep going through PATH at spawn time.
 */
export class PreflightPaths {
  readonly #found = new Map<string, string>();

  /** Preflight of a program: found (and remembered), or `describe` says why not. */
  find(bin: string, cwd: string, describe: (why: string) => string): Result<void, string> {
    const found = findExecutable(bin, cwd, process.env.PATH);
    if (!found.ok) return err(describe(found.error));
    this.remember(bin, found.value);
    return ok(undefined);
  }

  remember(bin: string, found: string): void {
    if (bin.includes('/') && !isAbsolute(bin)) this.#found.set(bin, found);
  }

  resolve(bin: string): string {
    return this.#found.get(bin) ?? bin;
  }
}
