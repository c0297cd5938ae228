import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { loadSpecFile } from '../config/load.js';
import { formatDiagnostics, readSourceFile } from '../config/print.js';
import type { Spec } from '../config/spec.js';

/** Loads the yaml, or prints every diagnostic to stderr and returns undefined (the caller exits 2). */
export function loadOrReport(file: string): Spec | undefined {
  const loaded = loadSpecFile(file);
  if (loaded.ok) return loaded.value;
  process.stderr.write(formatDiagnostics(loaded.error, readSourceFile, { color: useColor(process.stderr) }));
  process.stderr.write('\n');
  return undefined;
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
    execFile(
      'git',
      ['ls-files', '-z', '--full-name', '--', ':/'],
      { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      (error, stdout) => done(error === null ? stdout.split('\0').filter(Boolean) : []),
    );
  });
}

/** Parses a positive integer flag or says what was wrong with it. */
export function positiveInt(flag: string, value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) return `${flag}: expected a positive integer, got "${value}"`;
  return n;
}
