import type { Command } from 'commander';
import type { Git } from '../../git/index.js';
import { idProblem } from '../../config/ref-name.js';
import { GitError } from '../../git/index.js';
import { EXIT } from '../exit.js';
import { dropStaleExcludes, trackedFilesFrom } from '../project.js';
import { openGit, openState, pickRun, worktreesDirOf } from '../run-state.js';
import { claimRun } from '../runner-lock.js';
import { HOST, pidAlive } from '../../store/index.js';

export function register(program: Command): void {
  program
    .command('clean')
    .description("remove a run's worktrees (the merge worktree too) and task branches; never the integration branch")
    .argument('[name]', 'the run (default: the only run, or the most recent one)')
    .option('--force', 'also remove worktrees that hold uncommitted changes (those changes are lost)')
    .addHelpText(
      'after',
      `
Examples:
  swarm clean                 # the most recent run
  swarm clean api-refactor --force

A worktree with uncommitted changes is kept (and listed) unless --force. A task branch whose
work is not on the integration branch is deleted too; its last commit is printed so that
\`git branch <name> <sha>\` can bring it back. The run's history stays for \`swarm status\`.`,
    )
    .action(async (name: string | undefined, opts: { force?: boolean }) => {
      process.exitCode = await cleanCommand(name, opts.force === true);
    });
}

async function cleanCommand(name: string | undefined, force: boolean): Promise<number> {
  const fail = (message: string, code: number = EXIT.badInput) => {
    process.stderr.write(`swarm clean: ${message}\n`);
    return code;
  };
  // The name becomes branch and folder names below: `..` must be bad input, not a git error.
  const bad = name === undefined ? undefined : idProblem('run name', name);
  if (bad !== undefined) return fail(bad);
  const state = await openState(process.cwd());
  if (!state.ok) return fail(state.error);
  const { store, root } = state.value;
  try {
    await dropStaleExcludes(root, await trackedFilesFrom(root));
    const picked = pickRun(store, name);
    // A run the database forgot (--fresh, a deleted state.db) may still have worktrees: clean by name.
    if (!picked.ok && name === undefined) return fail(picked.error);
    const run = picked.ok ? picked.value : undefined;
    const runName = run?.name ?? name!;
    // Held while cleaning: a `swarm run` of this run started meanwhile must not find half its worktrees gone.
    const claim = store ? claimRun(store, runName, 'cleaning it') : undefined;
    if (claim && !claim.ok) return fail(claim.error);
    try {
      // A second look, at the run's own record: a live runner whose claim row was deleted
      // (an agent with sqlite3 can) must not have its worktrees and branches pulled away.
      if (run?.status === 'running' && run.host === HOST && run.pid !== process.pid && pidAlive(run.pid, run.pidStart)) {
        return fail(
          `the run "${runName}" is running (pid ${run.pid} on ${run.host}); cleaning it would race it. Stop it first (q or Ctrl-C in its terminal, or \`kill ${run.pid}\`)`,
        );
      }
      const tasks = run && store ? store.getTasks(run.name) : [];
      const git = await openGit(root, worktreesDirOf(root, run, tasks));
      if (!git.ok) return fail(git.error);
      const report = await cleanRun(git.value, runName, { force, into: run?.into });
      process.stdout.write(formatCleanReport(runName, report, run?.into));
      return report.refused.length > 0 ? EXIT.failed : EXIT.ok;
    } finally {
      if (claim?.ok) claim.value();
    }
  } finally {
    store?.close();
  }
}

export interface CleanReport {
  readonly removedWorktrees: readonly string[];
  readonly deletedBranches: readonly { branch: string; sha: string; merged: boolean }[];
  /** What was left, and why (uncommitted changes without --force, a branch still checked out). */
  readonly refused: readonly { what: string; why: string }[];
}

/**
 * Removes a run's worktrees (task worktrees first, then `_merge`) and its task branches.
 * Never the integration branch; never a worktree with uncommitted changes unless `force`.
 */
export async function cleanRun(git: Git, run: string, opts: { force: boolean; into?: string | undefined }): Promise<CleanReport> {
  const removedWorktrees: string[] = [];
  const refused: { what: string; why: string }[] = [];
  const worktrees = await git.listRunWorktrees(run);
  // The merge worktree last: if a task worktree is refused, the run's folder stays anyway.
  for (const wt of [...worktrees.filter((w) => !w.isMerge), ...worktrees.filter((w) => w.isMerge)]) {
    try {
      await git.removeWorktree(wt.path, { force: opts.force });
      removedWorktrees.push(wt.path);
    } catch (error) {
      refused.push({
        what: wt.path,
        why: error instanceof GitError && error.code === 'dirty' ? 'holds uncommitted changes (--force discards them)' : messageOf(error),
      });
    }
  }
  const deletedBranches: { branch: string; sha: string; merged: boolean }[] = [];
  for (const branch of await git.listTaskBranches(run)) {
    if (branch === opts.into) continue;
    const sha = await git.resolve(`refs/heads/${branch}`).catch(() => '');
    const merged = opts.into !== undefined && (await git.isMerged(branch, opts.into).catch(() => false));
    try {
      await git.deleteBranch(branch, opts.into === undefined ? {} : { into: opts.into });
      deletedBranches.push({ branch, sha, merged });
    } catch (error) {
      refused.push({ what: branch, why: messageOf(error) });
    }
  }
  return { removedWorktrees, deletedBranches, refused };
}

export function formatCleanReport(run: string, r: CleanReport, into: string | undefined): string {
  const lines: string[] = [];
  for (const path of r.removedWorktrees) lines.push(`removed worktree ${path}`);
  for (const b of r.deletedBranches) {
    const note = b.merged || into === undefined ? '' : `, not merged into ${into}: \`git branch ${b.branch} ${b.sha.slice(0, 12)}\` brings it back`;
    lines.push(`deleted branch ${b.branch} (was ${b.sha.slice(0, 12)}${note})`);
  }
  for (const x of r.refused) lines.push(`kept ${x.what}: ${x.why}`);
  if (r.removedWorktrees.length === 0 && r.deletedBranches.length === 0 && r.refused.length === 0) {
    lines.push(`nothing to clean for run ${run}`);
  }
  if (into !== undefined) lines.push(`the integration branch ${into} is kept`);
  return `${lines.join('\n')}\n`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
