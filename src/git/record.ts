import type { RecordEntry } from '../engine/ports.js';
import { TRAILER } from '../engine/record.js';
import type { GitRunner } from './exec.js';

/** `git log` format of a record entry: sha, committer time, trailers; entries end in RS. */
const RECORD_FORMAT = '--format=%H%x1f%ct%x1f%(trailers:only,unfold)%x1e';

/**
 * The run record on `into`'s first-parent chain, newest first: every commit whose message
 * has a `Swarm-Run: <run>` trailer (git filters with --grep, so a long history costs one
 * pass of git, not of node). Missing branch: no entries.
 */
export async function readRunRecord(runner: GitRunner, cwd: string, into: string, run: string): Promise<RecordEntry[]> {
  return readRunRecordAt(runner, cwd, `refs/heads/${into}`, run);
}

/** The same, from any ref: a remote-tracking `refs/remotes/<remote>/<into>` for `swarm status --remote`. */
export async function readRunRecordAt(runner: GitRunner, cwd: string, ref: string, run: string): Promise<RecordEntry[]> {
  const escaped = run.replace(/[.]/g, '\\.');
  const out = await runner.run(['log', '--first-parent', '-E', `--grep=^${TRAILER.run}: ${escaped}$`, RECORD_FORMAT, ref, '--'], { cwd });
  return out.exitCode === 0 ? parseRecordLog(out.stdout, run) : [];
}

/**
 * Every commit on `to`'s first-parent chain since `from`, oldest first, each with its run
 * record entry when it carries one of `run` (undefined: a commit swarm did not land).
 */
export async function readLandingsBetween(
  runner: GitRunner,
  cwd: string,
  from: string,
  to: string,
  run: string,
): Promise<{ sha: string; entry?: RecordEntry }[]> {
  const out = await runner.run(['log', '--first-parent', '--reverse', RECORD_FORMAT, `${from}..${to}`, '--'], { cwd });
  if (out.exitCode !== 0) return [];
  return out.stdout
    .split('\x1e')
    .map((chunk) => chunk.trim())
    .filter((chunk) => /^[0-9a-f]{40,64}\x1f/.test(chunk))
    .map((chunk) => {
      const entry = parseRecordLog(`${chunk}\x1e`, run)[0];
      return { sha: chunk.slice(0, chunk.indexOf('\x1f')), ...(entry ? { entry } : {}) };
    });
}

/** The entries of `run` in the output of `git log` with RECORD_FORMAT. Pure. */
export function parseRecordLog(stdout: string, run: string): RecordEntry[] {
  const entries: RecordEntry[] = [];
  for (const chunk of stdout.split('\x1e')) {
    const [sha = '', time = '', block = ''] = chunk.trim().split('\x1f');
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
    const seconds = Number(time);
    entries.push({
      landed: sha,
      run,
      ...opt('task', fields.get(TRAILER.task)),
      ...opt('hash', fields.get(TRAILER.hash)),
      ...opt('commit', fields.get(TRAILER.commit)),
      ...opt('base', fields.get(TRAILER.base)),
      ...opt('shard', fields.get(TRAILER.shard)),
      ...(time !== '' && Number.isFinite(seconds) ? { at: seconds * 1000 } : {}),
    });
  }
  return entries;
}

function opt<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}
