import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { TaskSpec } from '../config/spec.js';
import type { AttemptFindings } from '../engine/ports.js';
import { taskBranch } from '../git/names.js';
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
 * violations and what changed. For every agent, sandboxed or not, it also puts back the
 * worktree's HEAD and `.git` file if the agent changed them, before the runner commits there.
 */
export function watcher(opts: WatchOptions) {
  return async ({ run, task, worktree }: { run: string; task: TaskSpec; worktree: string }): Promise<{ after(): Promise<AttemptFindings> }> => {
    const spool = spoolPath(opts.stateDir, run, task.id);
    mkdirSync(dirname(spool), { recursive: true });
    writeFileSync(spool, '');
    const dotGit = readText(join(worktree, '.git'));
    const scope = opts.confined(task) ? undefined : opts.scope(run);
    const before = scope ? await fingerprint(scope) : undefined;
    return {
      async after() {
        const tampered = [...restoreAnchor(worktree, dotGit, taskBranch(run, task.id))];
        if (scope && before) tampered.push(...differences(before, await fingerprint(scope)));
        return { violations: readSpool(spool), tampered: tampered.sort() };
      },
    };
  };
}

/**
 * The runner commits what the agent left, in its worktree, right after it: a worktree whose
 * HEAD the agent pointed at another branch (`git symbolic-ref HEAD refs/heads/main`, which the
 * sandbox allows: HEAD lives in the worktree's own admin dir) would have the runner commit
 * onto that branch; a rewritten `.git` file would have it work in another repository. Both
 * are put back, and reported.
 */
function restoreAnchor(worktree: string, dotGit: string | undefined, branch: string): string[] {
  const changed: string[] = [];
  const dotGitPath = join(worktree, '.git');
  if (dotGit !== undefined && readText(dotGitPath) !== dotGit) {
    changed.push('worktree .git file changed');
    writeFileSync(dotGitPath, dotGit);
  }
  const gitdir = dotGit === undefined ? undefined : /^gitdir: (.+)$/m.exec(dotGit)?.[1]?.trim();
  if (gitdir === undefined) return changed;
  const head = join(isAbsolute(gitdir) ? gitdir : resolve(worktree, gitdir), 'HEAD');
  const want = `ref: refs/heads/${branch}`;
  const has = readText(head)?.trim();
  if (has !== undefined && has !== want) {
    changed.push(`worktree HEAD changed (to ${JSON.stringify(has.slice(0, 80))}, not its branch)`);
    writeFileSync(head, `${want}\n`);
  }
  return changed;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
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
