import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { loadSpecFile } from '../config/load.js';
export { MAX_CONCURRENCY } from '../config/schema.js';
import type { Diagnostic } from '../config/diagnostic.js';
import { formatDiagnostics, readSourceFile } from '../config/print.js';
import type { Spec } from '../config/spec.js';
import { diagnosticAnnotations, inGithubActions } from '../report/github.js';

/** Loads the yaml, or prints every diagnostic to stderr and returns undefined (the caller exits 2). */
export function loadOrReport(file: string): Spec | undefined {
  const loaded = loadSpecFile(file);
  if (loaded.ok) return loaded.value;
  printDiagnostics(loaded.error);
  return undefined;
}

/**
 * Diagnostics to stderr, as a compiler prints them; inside GitHub Actions also one
 * `::error file=...,line=...,col=...::` annotation each on stdout, where the runner reads
 * workflow commands, so the problem shows on the run's page and beside the file.
 */
export function printDiagnostics(diags: readonly Diagnostic[]): void {
  process.stderr.write(`${formatDiagnostics(diags, readSourceFile, { color: useColor(process.stderr) })}\n`);
  if (inGithubActions())
    process.stdout.write(
      diagnosticAnnotations(diags)
        .map((line) => `${line}\n`)
        .join(''),
    );
}

export function useColor(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && !process.env.CI;
}

/** How hooks and guards call this same swarm back: node + the built CLI, absolute. */
export function swarmArgv(): string[] {
  const script = process.argv[1] ?? join(dirname(new URL(import.meta.url).pathname), 'main.js');
  return [process.execPath, realpathSync(resolve(script))];
}

/**
 * The tracked files of the repository holding `dir`, relative to its root, or [] outside
 * git. One `git ls-files` (no `rev-parse` first: `:/` with `--full-name` lists the whole
 * repository from any folder of it), started at once and awaited later, so git reads the
 * index while swarm parses the file.
 */
export function trackedFilesFrom(dir: string): Promise<string[]> {
  return new Promise((done) => {
    execFile('git', ['ls-files', '-z', '--full-name', '--', ':/'], { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (error, stdout) =>
      done(error === null ? stdout.split('\0').filter(Boolean) : []),
    );
  });
}

/**
 * Parses a positive integer flag or says what was wrong with it. `max` is the limit the
 * same setting has in swarm.yaml, so a flag cannot pass what the file refuses.
 */
export function positiveInt(flag: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 1) return `${flag}: expected a positive integer, got "${value}"`;
  if (n > max) return `${flag}: expected at most ${max}, got ${n}`;
  return n;
}

/**
 * Takes out of `.git/info/exclude` the lines an older swarm wrote for a worktrees folder
 * that holds tracked files (they hide the user's new files there). Says what it removed.
 */
export async function dropStaleExcludes(root: string, tracked: readonly string[]): Promise<void> {
  const { dropTrackedFolderExcludes } = await import('../git/exclude.js');
  const file = await new Promise<string | undefined>((done) => {
    execFile('git', ['rev-parse', '--git-path', 'info/exclude'], { cwd: root, encoding: 'utf8' }, (error, stdout) =>
      done(error === null && stdout.trim() !== '' ? resolve(root, stdout.trim()) : undefined),
    );
  });
  if (file === undefined) return;
  for (const line of await dropTrackedFolderExcludes(file, tracked)) {
    process.stderr.write(
      `swarm: removed ${line} from ${file}: an older swarm put its worktrees there, and the line hid your new files in a folder git tracks\n`,
    );
  }
}
