import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { MergeStrategy } from '../config/spec.js';
import { unreachable } from '../util/result.js';
import { commandFailed, type GitOutput, type GitRunner } from './exec.js';
import { worktreeGitDir } from './git-dir.js';
import { identityArgs } from './identity.js';
import { sortedUnique, splitNul } from './names.js';

/**
 * Config that would make a merge in the merge worktree do more than asked: move other
 * branches (`rebase.updateRefs` would force-update the task branch itself), stash, or
 * rewrite commits the agent made.
 */
const SAFE_CONFIG = ['-c', 'rebase.updateRefs=false', '-c', 'rebase.autoStash=false', '-c', 'rebase.autoSquash=false', '-c', 'merge.autoStash=false'];

export type StrategyOutcome = { readonly kind: 'merged' } | { readonly kind: 'conflict'; readonly files: string[] };

/** Paths with unmerged index entries: what a merge or rebase stopped on. */
export async function unmergedPaths(runner: GitRunner, cwd: string): Promise<string[]> {
  const out = await runner.run(['diff', '--name-only', '--diff-filter=U', '-z'], { cwd });
  return sortedUnique(splitNul(out.stdout));
}

export async function hasMergeHead(runner: GitRunner, cwd: string): Promise<boolean> {
  // A file test where the worktree's git directory is plain to see; git itself otherwise.
  const gitDir = worktreeGitDir(cwd);
  if (gitDir !== undefined && existsSync(gitDir)) return existsSync(join(gitDir, 'MERGE_HEAD'));
  const out = await runner.run(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], { cwd });
  return out.exitCode === 0;
}

/**
 * Brings the merge worktree to `at`, detached, with nothing in progress, nothing staged and
 * nothing untracked, whatever a crash, a check or an agent left there. Runs before every
 * merge: a file someone staged there must not ride along into the next one. Ignored files
 * (a `node_modules` the check needs) stay.
 */
export async function settleMergeWorktree(runner: GitRunner, cwd: string, at: string): Promise<void> {
  const paths = (await runner.ok(['rev-parse', '--git-path', 'rebase-merge', '--git-path', 'rebase-apply', '--git-path', 'MERGE_HEAD'], { cwd }))
    .split('\n')
    .map((p) => (isAbsolute(p) ? p : join(cwd, p)));
  const [rebaseMerge = '', rebaseApply = '', mergeHead = ''] = paths;
  if (existsSync(rebaseMerge) || existsSync(rebaseApply)) await runner.run(['rebase', '--abort'], { cwd });
  if (existsSync(mergeHead)) await runner.run(['merge', '--abort'], { cwd });
  await runner.ok(['checkout', '-q', '-f', '--detach', at, '--'], { cwd });
  await runner.ok(['clean', '-q', '-fd'], { cwd });
}

/**
 * The trailer that names the task branch commit a landed commit holds (`Swarm-Source` before
 * the run record; both are still read).
 */
export const SOURCE_TRAILER = 'Swarm-Commit';

/**
 * Makes the commit that lands `taskSha` on `onto` (the integration head), at `cwd`, whose
 * HEAD is detached at `onto`; the caller moves the branch. On a conflict everything is
 * aborted and the worktree is back at `onto`. The task branch is never rewritten: a
 * rebase works on a detached copy of its commits.
 */
export async function applyStrategy(
  runner: GitRunner,
  opts: {
    cwd: string;
    onto: string;
    taskSha: string;
    strategy: MergeStrategy;
    message: string;
    identity?: string[];
    /**
     * `Key: value` lines for the commit that lands the work (the run record, see
     * src/git/record.ts): the merge commit, the squash commit, or the last rebased commit.
     */
    trailers?: readonly string[];
  },
): Promise<StrategyOutcome> {
  const { cwd, onto, taskSha, message } = opts;
  const identity = opts.identity ?? (await identityArgs(runner, cwd));
  const trailers = opts.trailers ?? [];
  const trailerArgs = trailers.length === 0 ? [] : ['-m', trailers.join('\n')];
  // A rebase replays the agent's own commit messages onto the integration branch's
  // first-parent chain, where the run record is read: a branch whose messages carry swarm's
  // trailers (forged, or copied) lands as one squash commit, whose message is swarm's alone.
  const strategy = opts.strategy === 'rebase' && (await carriesRecordTrailers(runner, cwd, onto, taskSha)) ? 'squash' : opts.strategy;
  switch (strategy) {
    case 'merge': {
      // --no-verify: the merge is swarm's, not the user's; `merge.check` is the gate here.
      const args = [...identity, ...SAFE_CONFIG, 'merge', '-q', '--no-ff', '--no-verify', '-m', message, ...trailerArgs, taskSha];
      const out = await runner.run(args, { cwd });
      if (out.exitCode === 0) return { kind: 'merged' };
      return failedMerge(runner, cwd, onto, args, out);
    }
    case 'squash': {
      // merge.ff=true: a user's `merge.ff = false` would otherwise make git refuse --squash.
      const args = [...SAFE_CONFIG, '-c', 'merge.ff=true', 'merge', '-q', '--squash', '--no-verify', taskSha];
      const out = await runner.run(args, { cwd });
      if (out.exitCode !== 0) return failedMerge(runner, cwd, onto, args, out);
      const staged = await runner.run(['diff', '--cached', '--quiet'], { cwd });
      // Nothing staged: the work is already on the integration branch.
      if (staged.exitCode === 0) return { kind: 'merged' };
      // The trailers say exactly which work this commit holds: `isMerged` finds it again
      // even after later tasks rewrote the same lines.
      await runner.ok([...identity, 'commit', '-q', '--no-verify', '-m', message, ...trailerArgs], { cwd });
      return { kind: 'merged' };
    }
    case 'rebase':
      return rebaseOnto(runner, { cwd, onto, taskSha, message, identity, trailers });
    default:
      return unreachable(strategy);
  }
}

/**
 * A merge, squash or rebase that git refused: a conflict (the worktree is put back at the
 * integration head first), or, with nothing unmerged, a real error.
 */
async function failedMerge(runner: GitRunner, cwd: string, onto: string, args: readonly string[], out: GitOutput): Promise<StrategyOutcome> {
  const files = await unmergedPaths(runner, cwd);
  await settleMergeWorktree(runner, cwd, onto);
  if (files.length > 0) return { kind: 'conflict', files };
  throw commandFailed(args, out);
}

async function rebaseOnto(
  runner: GitRunner,
  opts: { cwd: string; onto: string; taskSha: string; message: string; identity: string[]; trailers: readonly string[] },
): Promise<StrategyOutcome> {
  const { cwd, onto, identity } = opts;
  const tip = await flattenIntegrationMerge(runner, opts);
  await runner.ok(['checkout', '-q', '--detach', tip], { cwd });
  const args = [...identity, ...SAFE_CONFIG, 'rebase', '-q', '--no-verify', onto];
  const out = await runner.run(args, { cwd });
  if (out.exitCode !== 0) return failedMerge(runner, cwd, onto, args, out);
  const rebased = await runner.ok(['rev-parse', 'HEAD'], { cwd });
  // The last replayed commit carries the run record, as a squash commit does. Only a
  // commit the rebase made: with nothing replayed, HEAD is the integration head.
  if (opts.trailers.length > 0 && (await runner.run(['merge-base', '--is-ancestor', rebased, onto], { cwd })).exitCode !== 0) {
    // git before 2.32 has no --trailer: then the merge is recognised by its content alone.
    const args = opts.trailers.flatMap((t) => ['--trailer', t]);
    await runner.run([...identity, 'commit', '--amend', '-q', '--no-verify', '--no-edit', ...args], { cwd });
  }
  return { kind: 'merged' };
}

/** Whether a commit in `onto..tip` has a `Swarm-Run:` or `Swarm-Task:` trailer of its own. */
async function carriesRecordTrailers(runner: GitRunner, cwd: string, onto: string, tip: string): Promise<boolean> {
  const out = await runner.run(['log', '--format=%(trailers:key=Swarm-Run,key=Swarm-Task,key=Swarm-Base,valueonly)', `${onto}..${tip}`, '--'], { cwd });
  return out.exitCode !== 0 || out.stdout.trim() !== '';
}

/**
 * After `on_conflict: agent`, the task branch holds a merge of the integration branch
 * with the agent's resolution in it. A plain rebase drops merge commits and would replay
 * the task's first commits onto the integration head, meeting the same conflict again.
 * So everything up to that merge becomes one commit on the merge's integration parent,
 * with the merge's tree (the resolution kept exactly), and later commits go on top.
 * Returns the commit to rebase; the task branch itself is not touched.
 */
async function flattenIntegrationMerge(
  runner: GitRunner,
  opts: { cwd: string; onto: string; taskSha: string; message: string; identity: string[] },
): Promise<string> {
  const { cwd, onto, taskSha } = opts;
  const last = await runner.ok(['rev-list', '--first-parent', '--merges', '-n1', `${onto}..${taskSha}`], { cwd });
  if (last === '') return taskSha;
  const parents = (await runner.ok(['rev-list', '--parents', '-n1', last], { cwd })).split(' ');
  const integrationParent = parents[2];
  if (integrationParent === undefined) return taskSha;
  const onInto = await runner.run(['merge-base', '--is-ancestor', integrationParent, onto], { cwd });
  if (onInto.exitCode !== 0) return taskSha;
  const flat = await runner.ok([...opts.identity, 'commit-tree', `${last}^{tree}`, '-p', integrationParent, '-m', opts.message], { cwd });
  if (last === taskSha) return flat;
  await runner.ok(['checkout', '-q', '--detach', taskSha], { cwd });
  const args = [...opts.identity, ...SAFE_CONFIG, 'rebase', '-q', '--no-verify', '--onto', flat, last];
  const out = await runner.run(args, { cwd });
  if (out.exitCode !== 0) {
    await settleMergeWorktree(runner, cwd, onto);
    throw commandFailed(args, out);
  }
  return runner.ok(['rev-parse', 'HEAD'], { cwd });
}
