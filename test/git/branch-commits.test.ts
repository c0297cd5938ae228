/** Git.branchCommits and Git.renameBranch against real repositories and worktrees. */
import { afterEach, describe, expect, it } from 'vitest';
import { GitError } from '../../src/git/index.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, git, openRepo } from './fixture.js';

const repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});
async function setup() {
  const opened = await openRepo({ 'README.md': '# r\n', 'old.txt': 'old\n' });
  repos.push(opened.repo);
  return opened;
}

describe('Git.branchCommits', () => {
  it("lists the branch's own commits oldest first, with subject and files (a deletion and odd names too), merges left out", async () => {
    const { repo, git: g } = await setup();
    await g.ensureIntegrationBranch('swarm/r', git(repo.dir, 'rev-parse', 'HEAD'));
    const wt = await g.createWorktree('r', 't', await g.integrationHead('swarm/r'));
    if (!wt.ok) throw new Error(wt.error);
    const first = commitFile(wt.value.path, 'lib/a b.txt', 'a\n', 'add: a file with a space');
    git(wt.value.path, 'rm', '-q', 'old.txt');
    commitFile(wt.value.path, 'lib/c.txt', 'c\n', 'second: c, and old.txt goes');
    // The integration branch moves on and is merged into the task: that merge is not the task's work.
    commitFile(repo.dir, 'main.txt', 'main\n', 'elsewhere: main moved on');
    git(wt.value.path, 'merge', '-q', '--no-ff', '-m', 'merge integration', 'main');
    expect(git(wt.value.path, 'log', '--format=%s', '-1')).toBe('merge integration');

    const commits = await g.branchCommits(wt.value.startSha, `refs/heads/${wt.value.branch}`);
    expect(commits.map((c) => ({ subject: c.subject, files: c.files }))).toEqual([
      { subject: 'add: a file with a space', files: ['lib/a b.txt'] },
      { subject: 'second: c, and old.txt goes', files: ['lib/c.txt', 'old.txt'] },
    ]);
    expect(commits[0]!.sha).toBe(first);
    expect(await g.branchCommits(wt.value.startSha, wt.value.startSha)).toEqual([]);
  });
});

describe('Git.renameBranch', () => {
  it("renames a task branch once no worktree has it, keeping its commits; refuses one checked out, or a branch that is not a task's", async () => {
    const { repo, git: g } = await setup();
    await g.ensureIntegrationBranch('swarm/r', git(repo.dir, 'rev-parse', 'HEAD'));
    const wt = await g.createWorktree('r', 't', await g.integrationHead('swarm/r'));
    if (!wt.ok) throw new Error(wt.error);
    const tip = commitFile(wt.value.path, 'lib/x.txt', 'x\n');

    await expect(g.renameBranch(wt.value.branch, 'swarm-replaced/r/t-1')).rejects.toThrow(/checked out in/);
    await expect(g.renameBranch('main', 'elsewhere')).rejects.toBeInstanceOf(GitError);
    expect(git(repo.dir, 'rev-parse', 'refs/heads/main')).not.toBe(tip);

    await g.removeWorktree(wt.value.path);
    await g.renameBranch(wt.value.branch, 'swarm-replaced/r/t-1');
    expect(git(repo.dir, 'rev-parse', 'refs/heads/swarm-replaced/r/t-1')).toBe(tip);
    expect(() => git(repo.dir, 'rev-parse', '--verify', '-q', `refs/heads/${wt.value.branch}`)).toThrow();
  });
});
