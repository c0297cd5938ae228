import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TaskSpec } from '../config/spec.js';
import type { AttemptFindings } from '../engine/ports.js';
import type { SpooledViolation } from '../hooks/violations.js';
import { differences, fingerprint, type FingerprintScope } from './fingerprint.js';

/** `.swarm/spool/<run>/<task>.jsonl`: the one file under .swarm/ a task's agent may write. */
export function spoolPath(stateDir: string, run: string, task: string): string {
  return join(stateDir, 'spool', run, `${task}.jsonl`);
}

export interface WatchOptions {
  readonly stateDir: string;
  /** The fingerprint's scope for a run (its merge worktree differs by run). */
  readonly scope: (run: string) => FingerprintScope;
  /** Whether the task's agent runs in the sandbox: then nothing needs fingerprinting. */
  readonly confined: (task: TaskSpec) => boolean;
}

/**
 * The `Enforcement.watch` of the CLI: empties the task's spool, fingerprints what no agent may
 * change (only for an agent outside the sandbox), and after the attempt returns the spooled
 * violations and what changed.
 */
export function watcher(opts: WatchOptions) {
  return async ({ run, task }: { run: string; task: TaskSpec }): Promise<{ after(): Promise<AttemptFindings> }> => {
    const spool = spoolPath(opts.stateDir, run, task.id);
    mkdirSync(dirname(spool), { recursive: true });
    writeFileSync(spool, '');
    const scope = opts.confined(task) ? undefined : opts.scope(run);
    const before = scope ? await fingerprint(scope) : undefined;
    return {
      async after() {
        const tampered = scope && before ? differences(before, await fingerprint(scope)) : [];
        return { violations: readSpool(spool), tampered };
      },
    };
  };
}

/** The spooled violations, and the spool emptied. A line that is not one (the agent may write here) is skipped. */
function readSpool(path: string): SpooledViolation[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
    writeFileSync(path, '');
  } catch {
    return [];
  }
  const out: SpooledViolation[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as Partial<SpooledViolation>;
      if (typeof v.path === 'string' && (v.where === 'hook' || v.where === 'pre-commit') && typeof v.blocked === 'boolean') {
        out.push({ path: v.path, where: v.where, blocked: v.blocked, at: typeof v.at === 'number' ? v.at : Date.now() });
      }
    } catch {
      // not a line the hooks wrote
    }
  }
  return out;
}
