import type { Spec } from '../config/spec.js';
import type { Git } from '../git/index.js';
import { HOST, type SqliteStore } from '../store/index.js';
import { err, ok, type Result } from '../util/result.js';
import { cleanRun, formatCleanReport } from './commands/clean.js';
import { runnerAlive } from './run-state.js';

/**
 * `swarm run --fresh`: forgets the saved run and removes its worktrees and task branches,
 * and says what went. Refused while the run's runner is alive, and when a task worktree
 * holds uncommitted changes (nothing is removed then). The integration branch is kept as
 * it is: what was merged stays merged there, and the fresh run merges onto it (it is
 * created from `base` only when missing). Returns the lines to print.
 */
export async function freshStart(git: Git, store: SqliteStore, spec: Spec): Promise<Result<string[], string>> {
  const previous = store.getRun(spec.name);
  if (previous && runnerAlive(previous, HOST)) {
    return err(`--fresh: the run ${spec.name} is running (pid ${previous.pid} on ${previous.host}); stop it first`);
  }
  const dirty: string[] = [];
  for (const wt of await git.listRunWorktrees(spec.name)) {
    if (!wt.isMerge && (await git.isDirty(wt.path).catch(() => false))) dirty.push(wt.path);
  }
  if (dirty.length > 0) {
    return err(
      `--fresh would discard uncommitted changes in ${dirty.join(', ')}; commit them on their branch, or remove them with \`swarm clean ${spec.name} --force\`, then run again`,
    );
  }
  const lines: string[] = [];
  if (previous) {
    const counts = new Map<string, number>();
    for (const t of store.getTasks(spec.name)) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    const summary = [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    const dropped = store.discardRun(spec.name);
    lines.push(`--fresh: discarded the saved run ${spec.name}${summary ? ` (tasks: ${summary})` : ''}${dropped ? `; ${dropped}` : ''}`);
  }
  const report = await cleanRun(git, spec.name, { force: false, into: spec.into });
  if (report.removedWorktrees.length + report.deletedBranches.length + report.refused.length > 0) {
    lines.push(
      ...formatCleanReport(spec.name, report, undefined)
        .trimEnd()
        .split('\n')
        .map((l) => `--fresh: ${l}`),
    );
  }
  const kept = await git.resolveCommit(`refs/heads/${spec.into}`);
  lines.push(
    kept.ok
      ? `--fresh: the integration branch ${spec.into} is kept as it is (${kept.value.slice(0, 12)}), with whatever was merged into it; the fresh run merges onto it. Delete it yourself (git branch -D ${spec.into}) to start from ${spec.base}`
      : `--fresh: the integration branch ${spec.into} does not exist; it is created from ${spec.base}`,
  );
  if (!previous && lines.length === 1) lines.unshift(`--fresh: there was no saved run named ${spec.name}`);
  return ok(lines);
}
