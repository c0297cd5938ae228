import type { RecordEntry } from '../engine/ports.js';
import { TRAILER } from '../engine/record.js';
import type { GitRunner } from './exec.js';

/**
 * The run record on `into`'s first-parent chain, newest first: every commit whose message
 * has a `Swarm-Run: <run>` trailer (git filters with --grep, so a long history costs one
 * pass of git, not of node). Missing branch: no entries.
 */
export async function readRunRecord(runner: GitRunner, cwd: string, into: string, run: string): Promise<RecordEntry[]> {
  const escaped = run.replace(/[.]/g, '\\.');
  const out = await runner.run(
    ['log', '--first-parent', '-E', `--grep=^${TRAILER.run}: ${escaped}$`, '--format=%H%x1f%(trailers:only,unfold)%x1e', `refs/heads/${into}`, '--'],
    { cwd },
  );
  if (out.exitCode !== 0) return [];
  const entries: RecordEntry[] = [];
  for (const chunk of out.stdout.split('\x1e')) {
    const [sha = '', block = ''] = chunk.trim().split('\x1f');
    if (!/^[0-9a-f]{40,64}$/.test(sha)) continue;
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const at = line.indexOf(':');
      if (at <= 0) continue;
      const key = line.slice(0, at).trim();
      // The last value of a key counts, as git's own `trailers:key=` shows them all.
      fields.set(key, line.slice(at + 1).trim());
    }
    if (fields.get(TRAILER.run) !== run) continue;
    entries.push({
      landed: sha,
      run,
      ...opt('task', fields.get(TRAILER.task)),
      ...opt('hash', fields.get(TRAILER.hash)),
      ...opt('commit', fields.get(TRAILER.commit)),
      ...opt('base', fields.get(TRAILER.base)),
    });
  }
  return entries;
}

function opt<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}
