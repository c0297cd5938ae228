import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BranchCommit } from '../engine/ports.js';
import { GitError } from './errors.js';
import { commandFailed, type GitRunner } from './exec.js';
import { hasMergeHead } from './merge.js';
import { parseTaskBranch, sortedUnique, splitNul, TASK_BRANCH_PREFIX, taskBranch } from './names.js';
import type { GitCore } from './core.js';

export interface CommitOptions {
  /** The environment the commit runs in: the agent's, with the pre-commit guard's GIT_CONFIG_*. */
  readonly env?: Readonly<Record<string, string>>;
  /** Skips pre-commit and commit-msg hooks. Off by default: the user's hooks run. */
  readonly noVerify?: boolean;
}

/** Commits and branches: committing an agent's work, reading what a branch holds, renaming and deleting task branches. */
export class History {
  readonly #core: GitCore;

  constructor(core: GitCore) {
    this.#core = core;
  }

  /**
   * Commits whatever is uncommitted (new files included) and returns the new head, or null
   * when there was nothing. Hooks run as configured unless `noVerify`. Throws a
   * `commit-failed` GitError when a hook refuses or conflict markers are still there.
   * Concluding a merge (MERGE_HEAD set) stages the integration's files too, which a
   * pre-commit guard must allow.
   */
  async commitAll(worktree: string, message: string, opts: CommitOptions = {}): Promise<string | null> {
    const env = opts.env ?? {};
    await this.#core.onTaskBranch(worktree);
    await this.#core.runner.ok(['add', '-A'], { cwd: worktree, env });
    const merging = await hasMergeHead(this.#core.runner, worktree);
    if (merging) {
      const markers = await leftoverMarkers(this.#core.runner, worktree);
      if (markers.length > 0) {
        throw new GitError('commit-failed', `conflict markers are still in the files:\n${markers.slice(0, 10).join('\n')}`);
      }
    }
    const commit = (identity: string[]) =>
      this.#core.runner.run([...identity, 'commit', '-q', ...(opts.noVerify ? ['--no-verify'] : []), '-m', message], { cwd: worktree, env });
    const identity = await this.#core.identity(worktree, env);
    let out = await commit(identity);
    if (out.exitCode !== 0) {
      // The remembered identity may be stale (the user changed their config mid-run): look again.
      const fresh = await this.#core.identity(worktree, env, true);
      if (fresh.join('\0') !== identity.join('\0')) out = await commit(fresh);
    }
    if (out.exitCode !== 0) {
      // Nothing staged is the usual reason, and not a failure: asked only now, so a commit
      // that goes through costs no extra git call.
      if (!merging && (await this.#core.runner.run(['diff', '--cached', '--quiet'], { cwd: worktree, env })).exitCode === 0) return null;
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-20).join('\n');
      throw new GitError('commit-failed', `git commit in ${worktree} failed: ${detail}`);
    }
    // Read from the ref files git just wrote: one process less on every task's path.
    return this.#core.worktreeHead(worktree) ?? this.#core.runner.ok(['rev-parse', 'HEAD'], { cwd: worktree });
  }

  /**
   * Paths changed between `from` and the worktree's HEAD, both names of a rename, sorted.
   * Measured from the merge base (`from...HEAD`), so passing the integration branch after
   * it was merged into the task gives only the task's own work.
   */
  async changedPaths(worktree: string, from: string, to = 'HEAD'): Promise<string[]> {
    const out = await this.#core.runner.ok(['diff', '--name-status', '-M', '-z', `${from}...${to}`, '--'], { cwd: worktree });
    const fields = splitNul(out);
    const paths: string[] = [];
    for (let i = 0; i < fields.length; ) {
      const status = fields[i++] ?? '';
      const names = status.startsWith('R') || status.startsWith('C') ? 2 : 1;
      for (let n = 0; n < names && i < fields.length; n++) paths.push(fields[i++] ?? '');
    }
    return sortedUnique(paths);
  }

  /**
   * Paths touched, one commit at a time, by the commits reachable from `tip` but from none of
   * `not`: what a squash would hide but the history would keep (a file changed, then changed
   * back). Pass the integration head in `not`, so other tasks' commits brought in by a
   * conflict resolution are not counted. A merge commit counts for what it adds beyond
   * merging its parents (remerge-diff): a merge can carry a change in its own tree, and a
   * second merge take it back. Git before 2.36 has no remerge-diff: a merge then counts for
   * its diff against each parent, which may flag a conflict resolution too (squash: safe).
   */
  async commitPaths(tip: string, not: readonly string[]): Promise<string[]> {
    const args = (merges: string) => ['log', merges, '--format=', '--name-only', '-z', '--no-renames', tip, ...not.map((n) => `^${n}`), '--'];
    const remerge = await this.#core.runner.run(args('--diff-merges=remerge'), { cwd: this.#core.root });
    const out = remerge.exitCode === 0 ? remerge.stdout : await this.#core.runner.ok(args('-m'), { cwd: this.#core.root });
    return sortedUnique(
      splitNul(out)
        .map((p) => p.replace(/^\n+/, ''))
        .filter((p) => p !== ''),
    );
  }

  /** Commits in `from..to`, newest first, with their subjects: what came after an audit. */
  async commitsBetween(from: string, to: string): Promise<{ sha: string; subject: string }[]> {
    const out = await this.#core.runner.ok(['log', '--format=%H %s', `${from}..${to}`, '--'], { cwd: this.#core.root });
    return out === ''
      ? []
      : out.split('\n').map((l) => ({ sha: l.slice(0, l.indexOf(' ') < 0 ? l.length : l.indexOf(' ')), subject: l.slice(l.indexOf(' ') + 1) }));
  }

  /**
   * The commits on `tip` that `from` does not have, oldest first, each with its subject and
   * the files it touched. First parents only, merges left out: a conflict resolution merges
   * the integration branch into the task's, and those commits are other tasks' work. What
   * an agent starting on an existing branch is told it holds.
   */
  async branchCommits(from: string, tip: string): Promise<BranchCommit[]> {
    const out = await this.#core.atRoot([
      'log',
      '--reverse',
      '--first-parent',
      '--no-merges',
      '--no-renames',
      '--format=%x1e%H%x1f%s',
      '--name-only',
      '-z',
      `${from}..${tip}`,
      '--',
    ]);
    if (out.exitCode !== 0) throw commandFailed(['log', `${from}..${tip}`], out);
    return out.stdout
      .split('\x1e')
      .filter((record) => record !== '')
      .map((record) => {
        const [head = '', ...rest] = record.split('\0');
        const [sha = '', subject = ''] = head.split('\x1f');
        return { sha, subject, files: sortedUnique(rest.map((f) => f.replace(/^\n/, '')).filter((f) => f !== '')) };
      });
  }

  /**
   * Renames a task branch to `to` (which must not exist), keeping its commits and reflog:
   * a task whose definition changed starts over on a fresh branch without losing the old one.
   * Refuses a branch checked out in a worktree (remove that first).
   */
  async renameBranch(branch: string, to: string): Promise<void> {
    if (parseTaskBranch(branch) === undefined) throw new GitError('protected', `${branch} is not a swarm task branch; swarm leaves it alone`);
    await this.#core.checkBranchName(to);
    await this.#core.admin.run(async () => {
      const holder = (await this.#core.worktrees()).find((e) => e.branch === branch && !e.prunable);
      if (holder !== undefined) throw new GitError('protected', `${branch} is checked out in ${holder.path}; remove that worktree first`);
      const out = await this.#core.atRoot(['branch', '-m', branch, to]);
      if (out.exitCode !== 0) throw commandFailed(['branch', '-m', branch, to], out);
    });
  }

  /**
   * Deletes a task branch (`swarm-task/<run>/<task>`). Refuses, with a `protected` GitError,
   * the integration branch, any branch that is not a task's, and a branch checked out in
   * any worktree, the user's current branch included. A missing branch is not an error.
   */
  async deleteBranch(branch: string, opts: { into?: string } = {}): Promise<void> {
    if (parseTaskBranch(branch) === undefined) {
      throw new GitError('protected', `${branch} is not a swarm task branch (${TASK_BRANCH_PREFIX}<run>/<task>); swarm leaves it alone`);
    }
    if (branch === opts.into || this.#core.integrationBranches.has(branch)) {
      throw new GitError('protected', `${branch} is the integration branch; swarm never deletes it`);
    }
    await this.#core.admin.run(async () => {
      if (!(await this.#core.branchExists(branch))) return;
      const holder = (await this.#core.worktrees()).find((e) => e.branch === branch && !e.prunable);
      if (holder !== undefined) {
        throw new GitError('protected', `${branch} is checked out in ${holder.path}; remove that worktree first`);
      }
      const out = await this.#core.atRoot(['branch', '-D', branch]);
      if (out.exitCode !== 0) throw commandFailed(['branch', '-D', branch], out);
    });
  }

  /** The run's task branches (`swarm-task/<run>/*`), sorted; for `swarm clean`. */
  async listTaskBranches(run: string): Promise<string[]> {
    this.#core.checkName('run', run);
    const out = await this.#core.atRoot(['for-each-ref', '--format=%(refname:short)', `refs/heads/${taskBranch(run, '')}`]);
    if (out.exitCode !== 0) throw commandFailed(['for-each-ref'], out);
    return sortedUnique(out.stdout.split('\n').filter((b) => parseTaskBranch(b)?.run === run));
  }

  /** Whether the user's own checkout has uncommitted changes. swarm works from commits, so that is fine, but worth saying. */
  async userCheckoutDirty(): Promise<boolean> {
    const out = await this.#core.atRoot(['status', '--porcelain', '-z', '--untracked-files=normal']);
    if (out.exitCode !== 0) throw commandFailed(['status'], out);
    return out.stdout !== '';
  }
}

/**
 * `path:line` of each conflict marker about to be committed. git's own check also flags
 * `=======`, which is a Markdown heading underline too, so only the `<<<<<<<` and
 * `>>>>>>>` lines count. LC_ALL=C: the message is matched, and git translates it.
 */
async function leftoverMarkers(runner: GitRunner, worktree: string): Promise<string[]> {
  const out = await runner.run(['-c', 'core.quotePath=false', 'diff', '--cached', '--check', 'HEAD'], {
    cwd: worktree,
    env: { LC_ALL: 'C' },
  });
  const found: string[] = [];
  const files = new Map<string, string[]>();
  for (const line of out.stdout.split('\n')) {
    const m = /^(.*):(\d+): leftover conflict marker$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    let lines = files.get(m[1]);
    if (lines === undefined) {
      lines = await readFile(join(worktree, m[1]), 'utf8').then(
        (t) => t.split('\n'),
        () => [],
      );
      files.set(m[1], lines);
    }
    const text = lines[Number(m[2]) - 1] ?? '';
    if (/^(<{7}|>{7})(\s|$)/.test(text)) found.push(`${m[1]}:${m[2]}`);
  }
  return found;
}
