/**
 * Where templates find their matches: the files tracked at `base`, read from git's
 * objects (`git ls-tree`, `git grep <commit>`), so neither the working tree nor the index
 * matters and every machine expands a file the same way at the same commit.
 */
import { execFileSync } from 'node:child_process';
import { err, ok, type Result } from '../util/result.js';

export interface MatchSource {
  /** The commit `base` names, or why it cannot be read. */
  commit(): Result<string, string>;
  /** Every file tracked at the commit, sorted bytewise. */
  files(): Result<readonly string[], string>;
  /** The tracked files whose content matches `regex` (POSIX extended, as `git grep -E` reads it). */
  grep(regex: string): Result<ReadonlySet<string>, string>;
}

/** Byte order of the UTF-8 text, the same on every machine (git's own order, less its directory rule). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  // Code-unit order equals byte order unless a surrogate pair meets a character above U+D7FF.
  if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const MAX_BUFFER = 512 * 1024 * 1024;

/**
 * Reads matches with git in the repository holding the first of `dirs` that is in one.
 * Each answer is computed once, on first use (a file without templates never runs git).
 */
export function gitMatchSource(dirs: readonly string[], base: string): MatchSource {
  let root: Result<string, string> | undefined;
  let commit: Result<string, string> | undefined;
  let files: Result<readonly string[], string> | undefined;
  const greps = new Map<string, Result<ReadonlySet<string>, string>>();
  const git = (cwd: string, args: readonly string[]): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: MAX_BUFFER, stdio: ['ignore', 'pipe', 'pipe'] });
  const findRoot = (): Result<string, string> => {
    for (const dir of dirs) {
      try {
        const top = git(dir, ['rev-parse', '--show-toplevel']).trim();
        if (top !== '') return ok(top);
      } catch {
        // not a repository; try the next folder
      }
    }
    return err('for_each reads the files tracked at base, but this is not inside a git repository');
  };
  const topOf = (): string => (root?.ok === true ? root.value : '.');
  const source: MatchSource = {
    commit() {
      root ??= findRoot();
      if (!root.ok) return root;
      const top = root.value;
      commit ??= (() => {
        try {
          return ok(git(top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${base}^{commit}`]).trim());
        } catch {
          return err(`base ${JSON.stringify(base)} names no commit in ${top}, so there are no files to match`);
        }
      })();
      return commit;
    },
    files() {
      if (files !== undefined) return files;
      const sha = source.commit();
      if (!sha.ok) return (files = sha);
      try {
        const out = git(topOf(), ['ls-tree', '-r', '-z', '--name-only', '--full-tree', sha.value]);
        files = ok(out.split('\0').filter(Boolean).sort(compareBytes));
      } catch (error) {
        files = err(`git ls-tree failed: ${stderrOf(error)}`);
      }
      return files;
    },
    grep(regex) {
      const known = greps.get(regex);
      if (known !== undefined) return known;
      const sha = source.commit();
      if (!sha.ok) return sha;
      let result: Result<ReadonlySet<string>, string>;
      try {
        const out = git(topOf(), ['grep', '-l', '-z', '-I', '--full-name', '-E', '-e', regex, sha.value, '--', ':/']);
        const prefix = `${sha.value}:`;
        result = ok(new Set(out.split('\0').flatMap((line) => (line.startsWith(prefix) ? [line.slice(prefix.length)] : []))));
      } catch (error) {
        const status = (error as { status?: number }).status;
        // git grep exits 1 when nothing matches; anything else is a bad pattern or a broken repository.
        result = status === 1 ? ok(new Set()) : err(`git grep cannot use it: ${stderrOf(error)}`);
      }
      greps.set(regex, result);
      return result;
    },
  };
  return source;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' ? stderr : Buffer.isBuffer(stderr) ? stderr.toString('utf8') : '';
  const line = text
    .trim()
    .split('\n')[0]
    ?.replace(/^fatal: /, '');
  return line !== undefined && line !== '' ? line : error instanceof Error ? error.message : String(error);
}
