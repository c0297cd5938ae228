import { existsSync } from 'node:fs';

/**
 * `.swarm/state.db` cannot be used: not a database, cut short, a folder, unreadable, or
 * written by a newer swarm. Thrown only by opening the database; the CLI turns it into
 * one message and exit 2 (`openStateDb` returns it as a value).
 */
export class StateDbError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, cause?: unknown) {
    super(brokenStateDbMessage(path, reason), { cause });
    this.name = 'StateDbError';
    this.path = path;
    this.reason = reason;
  }
}

/** The schema of the file is newer than this swarm's migrations. */
export class NewerSchemaError extends Error {
  readonly found: number;
  readonly known: number;

  constructor(found: number, known: number) {
    super(`it was written by a newer swarm (schema version ${found}; this swarm knows up to ${known}): upgrade swarm, or move it aside`);
    this.name = 'NewerSchemaError';
    this.found = found;
    this.known = known;
  }
}

let lastOpened: string | undefined;

/** Remembers the state database this process opened last, to name it if it breaks later. */
export function noteOpened(path: string): void {
  lastOpened = path;
}

export function lastOpenedStateDb(): string | undefined {
  return lastOpened;
}

/** SQLite's and the file system's ways of saying the file itself is the problem. */
const BROKEN_SQLITE = /^SQLITE_(NOTADB|CORRUPT|CANTOPEN|IOERR|READONLY|PERM|AUTH|FORMAT|NOLFS|FULL)/;
const BROKEN_FS = new Set(['EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EIO']);

/** Why the database file cannot be used, or undefined when `error` says something else (a bug, a busy lock). */
export function brokenReason(error: unknown): string | undefined {
  if (error instanceof NewerSchemaError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !(BROKEN_SQLITE.test(code) || BROKEN_FS.has(code))) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CANTOPEN') return `it cannot be opened (${message}: a folder, or a file this user cannot read?)`;
  return `${message} (${code})`;
}

/**
 * What to tell the user: the path, that git holds everything that matters, how to move the
 * file aside (its -wal and -shm too: a stale log would be replayed into the fresh file),
 * and what the fresh record keeps.
 */
export function brokenStateDbMessage(path: string, reason: string): string {
  const moves = [path, `${path}-wal`, `${path}-shm`]
    .filter((p, i) => i === 0 || existsSync(p))
    .map((p) => `  mv ${quote(p)} ${quote(p.replace(/state\.db(-wal|-shm)?$/, 'state.db.broken$1'))}`);
  return [
    `the state database ${path} cannot be used: ${reason}.`,
    'Nothing in git is lost: your branches, the integration branches and every task commit are intact.',
    'Move it aside, and the next swarm command starts a fresh record:',
    ...moves,
    'The fresh record forgets the history swarm status, logs and report show; merged work stays on the integration branch, and the next swarm run merges onto it.',
  ].join('\n');
}

function quote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}
