import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GitError, Git } from '../../src/git/index.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, git, openRepo, snapshotCheckout, writeIn } from './fixture.js';

const RUN = 'r1';
const repos: TempRepo[] = [];
async function setup(pool = 2) {
  // node_modules is ignored, as in a real project: what setup installs must survive reuse.
  const opened = await openRepo({ 'README.md': '# pool\n', '.gitignore': 'node_modules/\n' }, { pool });
  repos.push(opened.repo);
  return opened;
}
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

async function start(g: Git, task: string, from: string) {
  const wt = await g.createWorktree(RUN, task, from);
  if (!wt.ok) throw new Error(wt.error);
  return wt.value;
}

/** A task that ran: an installed dependency (ignored) and a committed change. */
function work(path: string, task: string): string {
  writeIn(path, 'node_modules/dep/index.js', `// installed for ${task}\n`);
  return commitFile(path, `${task}.txt`, `${task}\n`);
}

describe('worktree pool', () => {
  it('parks a merged task worktree and hands it to the next task: new branch at its start, folder renamed, ignored files kept', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const before = snapshotCheckout(repo.dir);
    const a = await start(g, 'a', base);
    const aTip = work(a.path, 'a');

    await g.releaseWorktree(a.path);
    // Parked: still there, detached, so its branch is free; the branch keeps the work.
    expect(existsSync(a.path)).toBe(true);
    expect(git(a.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
    expect(repo.git('rev-parse', `swarm-task/${RUN}/a`)).toBe(aTip);

    const b = await start(g, 'b', base);
    expect(b).toEqual({ path: g.worktreePath(RUN, 'b'), branch: `swarm-task/${RUN}/b`, startSha: base });
    expect(existsSync(a.path)).toBe(false);
    expect(git(b.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`swarm-task/${RUN}/b`);
    expect(git(b.path, 'rev-parse', 'HEAD')).toBe(base);
    // The reused folder: a's installed dependency is there, a's committed file is not.
    expect(readFileSync(join(b.path, 'node_modules/dep/index.js'), 'utf8')).toBe('// installed for a\n');
    expect(existsSync(join(b.path, 'a.txt'))).toBe(false);
    expect(git(b.path, 'status', '--porcelain')).toBe('');
    // git knows the worktree by its new path; the user's checkout never moved.
    expect(repo.git('worktree', 'list', '--porcelain')).toContain(`worktree ${b.path}\n`);
    expect(snapshotCheckout(repo.dir)).toBe(before);
  });

  it('never reuses a parked worktree that holds uncommitted work, and never parks a dirty one', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const a = await start(g, 'a', base);
    work(a.path, 'a');
    await g.releaseWorktree(a.path);
    // Someone writes into the parked folder afterwards.
    writeFileSync(join(a.path, 'notes.txt'), 'precious\n');

    const b = await start(g, 'b', base);
    expect(existsSync(join(b.path, 'node_modules'))).toBe(false);
    expect(readFileSync(join(a.path, 'notes.txt'), 'utf8')).toBe('precious\n');

    writeIn(b.path, 'draft.txt', 'uncommitted\n');
    const refused = await g.releaseWorktree(b.path).catch((e: unknown) => e);
    expect((refused as GitError).code).toBe('dirty');
    expect(readFileSync(join(b.path, 'draft.txt'), 'utf8')).toBe('uncommitted\n');
    expect(git(b.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`swarm-task/${RUN}/b`);
  });

  it('falls back to a fresh worktree when the parked one cannot be switched, leaving nothing half made', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const a = await start(g, 'a', base);
    work(a.path, 'a');
    await g.releaseWorktree(a.path);
    // Another git process holds the parked worktree's index: the switch fails.
    const gitDir = readFileSync(join(a.path, '.git'), 'utf8')
      .replace(/^gitdir: /, '')
      .trim();
    writeFileSync(join(gitDir, 'index.lock'), '');

    const b = await start(g, 'b', base);
    expect(git(b.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`swarm-task/${RUN}/b`);
    expect(git(b.path, 'rev-parse', 'HEAD')).toBe(base);
    expect(existsSync(join(b.path, 'node_modules'))).toBe(false);
    expect(repo.git('branch', '--list', `swarm-task/${RUN}/b`)).toContain(`swarm-task/${RUN}/b`);
    // Exactly one worktree holds b's branch: the fresh one.
    const holders = repo.git('worktree', 'list', '--porcelain').match(new RegExp(`^branch refs/heads/swarm-task/${RUN}/b$`, 'gm'));
    expect(holders).toHaveLength(1);
  });

  it('a resumed task keeps its own branch and commits; the parked worktree waits for the next task', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const a = await start(g, 'a', base);
    work(a.path, 'a');
    await g.releaseWorktree(a.path);
    // b ran before the runner stopped: its branch holds committed work.
    repo.git('branch', `swarm-task/${RUN}/b`, base);
    const bWork = repo.git('commit-tree', '-p', base, '-m', 'b work', `${base}^{tree}`);
    repo.git('update-ref', `refs/heads/swarm-task/${RUN}/b`, bWork);

    const b = await start(g, 'b', base);
    expect(git(b.path, 'rev-parse', 'HEAD')).toBe(bWork);
    expect(existsSync(a.path)).toBe(true);
    const c = await start(g, 'c', base);
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(join(c.path, 'node_modules/dep/index.js'))).toBe(true);
  });

  it('keeps at most `pool` parked worktrees, removes the rest, and drains them at the end', async () => {
    const { repo, git: g } = await setup(1);
    const base = repo.git('rev-parse', 'HEAD');
    const a = await start(g, 'a', base);
    const b = await start(g, 'b', base);
    work(a.path, 'a');
    work(b.path, 'b');
    await g.releaseWorktree(a.path);
    await g.releaseWorktree(b.path);
    expect(existsSync(a.path)).toBe(true);
    expect(existsSync(b.path)).toBe(false);

    await g.drainPool(RUN);
    expect(existsSync(a.path)).toBe(false);
    expect((await g.listRunWorktrees(RUN)).map((w) => w.name)).toEqual([]);
    // The work stays on the task branches.
    expect(
      repo
        .git('branch', '--list', 'swarm-task/*')
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual([`swarm-task/${RUN}/a`, `swarm-task/${RUN}/b`]);
  });

  it('leaves no registered worktree behind: a lost parked one is drained, a release after the drain removes, a dirty one stays', async () => {
    const { repo, git: g } = await setup(2);
    const base = repo.git('rev-parse', 'HEAD');
    const a = await start(g, 'a', base);
    const late = await start(g, 'late', base);
    work(a.path, 'a');
    work(late.path, 'late');
    // A detached worktree in the run's folder that the pool does not know (issue 18, item 9).
    const lost = join(g.worktreePath(RUN, '_'), '..', 'lost');
    repo.git('worktree', 'add', '-q', '--detach', lost, base);
    const dirty = join(g.worktreePath(RUN, '_'), '..', 'dirty');
    repo.git('worktree', 'add', '-q', '--detach', dirty, base);
    writeIn(dirty, 'notes.txt', 'uncommitted\n');
    await g.releaseWorktree(a.path);

    await g.drainPool(RUN);
    // The merge that finished after the run's end: removed, not parked.
    await g.releaseWorktree(late.path);
    const registered = repo.git('worktree', 'list', '--porcelain');
    expect(registered).not.toContain(a.path);
    expect(registered).not.toContain(late.path);
    expect(registered).not.toMatch(/\/lost\n/);
    expect(existsSync(late.path)).toBe(false);
    // Uncommitted work is never thrown away.
    expect(readFileSync(join(dirty, 'notes.txt'), 'utf8')).toBe('uncommitted\n');
    // A task started again parks again.
    const b = await start(g, 'b', base);
    work(b.path, 'b');
    await g.releaseWorktree(b.path);
    expect(existsSync(b.path)).toBe(true);
  });

  it('without a pool, releasing removes the worktree as before', async () => {
    const { repo, git: g } = await setup(0);
    const a = await start(g, 'a', repo.git('rev-parse', 'HEAD'));
    work(a.path, 'a');
    await g.releaseWorktree(a.path);
    expect(existsSync(a.path)).toBe(false);
  });

  it('a parked worktree a run could not give up is cleared when a task needs its folder; a dirty one is refused', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    // What a drain that failed leaves: the task's folder, a clean worktree on a detached HEAD.
    const path = join(repo.dir, '.swarm', 'worktrees', RUN, 'a');
    repo.git('worktree', 'add', '-q', '--detach', path, base);
    const a = await start(g, 'a', base);
    expect(a.path).toBe(path);
    expect(git(path, 'symbolic-ref', '--short', 'HEAD')).toBe('swarm-task/r1/a');

    const other = join(repo.dir, '.swarm', 'worktrees', RUN, 'b');
    repo.git('worktree', 'add', '-q', '--detach', other, base);
    writeFileSync(join(other, 'wip.txt'), 'work in progress\n');
    const refused = await g.createWorktree(RUN, 'b', base);
    expect(refused.ok).toBe(false);
    expect(readFileSync(join(other, 'wip.txt'), 'utf8')).toBe('work in progress\n');
  });
});
