import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT } from './exit.js';

/**
 * The last line of defence: an exception that reached the top of a command. What a user can
 * cause is a value long before this; what arrives here is a bug, or a state.db that broke
 * under a running command. A bug prints one line naming a log file that holds the stack
 * (a stack trace on the terminal helps nobody but us, and hides what to do next).
 * Returns the exit code.
 */
export async function reportUncaught(error: unknown, prefix = 'swarm'): Promise<number> {
  const broken = await brokenStateDb(error);
  if (broken !== undefined) {
    process.stderr.write(`${prefix}: ${broken}\n`);
    return EXIT.badInput;
  }
  const message = error instanceof Error ? error.message : String(error);
  const log = writeLog(error);
  const where = log === undefined ? `${describe(error)}` : `the details are in ${log}`;
  process.stderr.write(`${prefix}: internal error: ${firstLine(message)} (${where}; please report it)\n`);
  return EXIT.failed;
}

/** The message for a state.db that cannot be used, when that is what `error` is. */
async function brokenStateDb(error: unknown): Promise<string | undefined> {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'StateDbError') return error.message;
  if (error.name !== 'SqliteError') return undefined;
  // A database that broke under a running command (cut short meanwhile): name the file it opened.
  const { brokenReason, brokenStateDbMessage, lastOpenedStateDb } = await import('../store/broken.js');
  const reason = brokenReason(error);
  const path = lastOpenedStateDb();
  return reason === undefined || path === undefined ? undefined : brokenStateDbMessage(path, reason);
}

/** Writes the stack to `.swarm/logs/` of the repository, or the OS temp dir; the file written, if any. */
function writeLog(error: unknown): string | undefined {
  const name = `internal-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`;
  const text = [
    `swarm internal error at ${new Date().toISOString()}`,
    `argv: ${JSON.stringify(process.argv.slice(2))}`,
    `cwd: ${safeCwd() ?? '(gone)'}`,
    `node: ${process.version} on ${process.platform}`,
    '',
    describe(error),
    '',
  ].join('\n');
  for (const dir of [repositoryLogsDir(), tmpdir()]) {
    if (dir === undefined) continue;
    try {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    } catch {
      // The next place, else the caller prints the stack itself.
    }
  }
  return undefined;
}

/** `<main worktree>/.swarm/logs`, only where swarm already keeps its state. */
function repositoryLogsDir(): string | undefined {
  const cwd = safeCwd();
  if (cwd === undefined) return undefined;
  try {
    const out = execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const common = resolve(cwd, out);
    if (basename(common) !== '.git') return undefined;
    const stateDir = join(dirname(common), '.swarm');
    return existsSync(stateDir) ? join(stateDir, 'logs') : undefined;
  } catch {
    return undefined;
  }
}

function safeCwd(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? '' : `\ncaused by: ${describe(error.cause)}`;
  return `${error.stack ?? `${error.name}: ${error.message}`}${cause}`;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
