import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A task's outbox, `.swarm/spool/<run>/<task>.outbox.jsonl`: what the agent's own processes
 * tell the runner, one JSON object a line, appended and never rewritten while the run lives.
 * In the sandbox state.db is read-only, so `swarm msg` / `swarm note` from the agent's shell
 * and the message hook's receipts come this way; the runner polls the file, and the file
 * says whose it is: an agent cannot send in another task's name.
 */
export type OutboxEntry =
  | { readonly kind: 'msg'; readonly to: string; readonly body: string; readonly at: number }
  | { readonly kind: 'note'; readonly body: string; readonly at: number }
  /** The message hook handed these message ids to the agent. */
  | { readonly kind: 'ack'; readonly ids: readonly number[]; readonly at: number };

export function outboxPath(stateDir: string, run: string, task: string): string {
  return join(stateDir, 'spool', run, `${task}.outbox.jsonl`);
}

export function appendOutbox(path: string, entry: OutboxEntry): void {
  if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${JSON.stringify(entry)}\n`);
}

/** The entries from byte `offset` on, and where the next read starts (after the last whole line). */
export function readOutbox(path: string, offset = 0): { entries: OutboxEntry[]; offset: number } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return { entries: [], offset: 0 };
  }
  // Emptied (a new run): start over.
  const from = size < offset ? 0 : offset;
  if (size === from) return { entries: [], offset: from };
  const buf = Buffer.alloc(size - from);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const end = buf.lastIndexOf(0x0a);
  if (end < 0) return { entries: [], offset: from };
  const entries: OutboxEntry[] = [];
  for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
    const entry = parseEntry(line);
    if (entry !== undefined) entries.push(entry);
  }
  return { entries, offset: from + end + 1 };
}

/** The message ids the hook has handed over already, by this outbox. */
export function ackedIds(path: string): Set<number> {
  const ids = new Set<number>();
  for (const e of readOutbox(path).entries) if (e.kind === 'ack') for (const id of e.ids) ids.add(id);
  return ids;
}

/** A line the agent could have written by hand is checked like any input; what is not an entry is skipped. */
function parseEntry(line: string): OutboxEntry | undefined {
  if (line.trim() === '') return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const at = typeof v.at === 'number' ? v.at : Date.now();
  if (v.kind === 'msg' && typeof v.to === 'string' && typeof v.body === 'string') return { kind: 'msg', to: v.to, body: v.body, at };
  if (v.kind === 'note' && typeof v.body === 'string') return { kind: 'note', body: v.body, at };
  if (v.kind === 'ack' && Array.isArray(v.ids) && v.ids.every((id) => Number.isInteger(id))) return { kind: 'ack', ids: v.ids as number[], at };
  return undefined;
}
