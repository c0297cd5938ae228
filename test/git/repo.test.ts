import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Git, type GitError } from '../../src/git/index.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, git, GIT_ENV, openRepo, snapshotCheckout, writeIn } from './fixture.js';

const repos: TempRepo[] = [];
const dirs: string[] = [];
async function setup(files?: Record<string, string>) {
  const opened = await openRepo(files);
  repos.push(opened.repo);
  return opened;
}
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-git-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('Git.open', () => {
  it('says so when the folder is not in a git repository', async () => {
    const result = await Git.open(tempDir(), { env: { ...GIT_ENV, GIT_CEILING_DIRECTORIES: tmpdir() } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/is not inside a git repository/);
  });

  it('says so when the repository has no commits', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    const result = await Git.open(dir, { env: GIT_ENV });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/has no commits yet/);
  });

  it('finds the main worktree root from a subfolder and from a task worktree', async () => {
    const { repo, git: g } = await setup({ 'src/deep/file.ts': 'x\n' });
    const fromSub = await Git.open(join(repo.dir, 'src/deep'), { env: GIT_ENV });
    expect(fromSub.ok && fromSub.value.root).toBe(repo.dir);
    const wt = await g.createWorktree('r1', 'a', 'HEAD');
    if (!wt.ok) throw new Error(wt.error);
    const fromTask = await Git.open(join(wt.value.path, 'src'), { env: GIT_ENV });
    expect(fromTask.ok && fromTask.value.root).toBe(repo.dir);
  });

  it('refuses a worktrees folder inside .git', async () => {
    const { repo } = await setup();
    const result = await Git.open(repo.dir, { worktreesDir: '.git/wt', env: GIT_ENV });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/inside \.git/);
  });
});

describe('resolve', () => {
  it('gives the full sha, and a clear error for a missing commit', async () => {
    const { repo, git: g } = await setup();
    const head = repo.git('rev-parse', 'HEAD');
    expect(await g.resolve('HEAD')).toBe(head);
    expect(await g.resolve(head.slice(0, 8))).toBe(head);
    expect(await g.resolveCommit('no-such-branch')).toEqual({ ok: false, error: `"no-such-branch" does not name a commit in ${repo.dir}` });
    const thrown = await g.resolve('--help').catch((e: unknown) => e);
    expect((thrown as GitError).code).toBe('bad-input');
  });
});

describe('.git/info/exclude', () => {
  it('gets .swarm/ once, however often it is asked and from however many Git objects', async () => {
    const { repo, git: g } = await setup();
    const exclude = join(repo.dir, '.git/info/exclude');
    writeFileSync(exclude, "# the user's own\n*.log"); // no final newline
    await g.ensureExcluded();
    await g.ensureExcluded();
    const again = await Git.open(repo.dir, { env: GIT_ENV });
    if (!again.ok) throw new Error(again.error);
    await again.value.ensureExcluded();
    await again.value.createWorktree('r1', 'a', 'HEAD');
    const lines = readFileSync(exclude, 'utf8').split('\n');
    expect(lines.filter((l) => l === '/.swarm/')).toHaveLength(1);
    expect(lines.slice(0, 2)).toEqual(["# the user's own", '*.log']);
    expect(repo.git('status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(repo.git('status', '--porcelain', '--ignored', '--untracked-files=normal')).toBe('!! .swarm/');
  });
});

describe('commitAll and changedPaths', () => {
  it('commits new, changed and deleted files, and returns null when there is nothing', async () => {
    const { g, wt } = await withTask({ 'keep.txt': 'k\n', 'gone.txt': 'g\n' });
    expect(await g.commitAll(wt, 'nothing')).toBeNull();
    writeIn(wt, 'new/file.txt', 'n\n');
    writeIn(wt, 'keep.txt', 'k2\n');
    rmSync(join(wt, 'gone.txt'));
    const head = await g.commitAll(wt, 'swarm(a): work');
    expect(head).toBe(git(wt, 'rev-parse', 'HEAD'));
    expect(git(wt, 'log', '-1', '--format=%s')).toBe('swarm(a): work');
    expect(git(wt, 'status', '--porcelain')).toBe('');
    expect(await g.commitAll(wt, 'again')).toBeNull();
  });

  it('lists both names of a rename, sorted and unique', async () => {
    const { g, wt, start } = await withTask({ 'old/name.txt': 'same content\nover several\nlines\n', 'z.txt': 'z\n' });
    mkdirSync(join(wt, 'new'));
    git(wt, 'mv', 'old/name.txt', 'new/name.txt');
    writeIn(wt, 'z.txt', 'z2\n');
    writeIn(wt, 'a.txt', 'a\n');
    await g.commitAll(wt, 'rename');
    commitFile(wt, 'a.txt', 'a again\n');
    expect(await g.changedPaths(wt, start)).toEqual(['a.txt', 'new/name.txt', 'old/name.txt', 'z.txt']);
  });

  it('runs the hooks with the given env, unless noVerify', async () => {
    const { repo, g, wt } = await withTask();
    const hooks = join(repo.dir, 'hooks');
    mkdirSync(hooks);
    writeFileSync(join(hooks, 'pre-commit'), '#!/bin/sh\n[ "$GUARD" = allow ] || { echo "guard: refused" >&2; exit 1; }\n');
    chmodSync(join(hooks, 'pre-commit'), 0o755);
    repo.git('config', 'core.hooksPath', hooks);

    writeIn(wt, 'x.txt', 'x\n');
    const refused = await g.commitAll(wt, 'x').catch((e: unknown) => e);
    expect((refused as GitError).code).toBe('commit-failed');
    expect((refused as GitError).message).toContain('guard: refused');
    expect(await g.commitAll(wt, 'x', { env: { GUARD: 'allow' } })).not.toBeNull();
    writeIn(wt, 'y.txt', 'y\n');
    expect(await g.commitAll(wt, 'y', { noVerify: true })).not.toBeNull();
  });

  it('falls back to a fixed identity only when the user has none', async () => {
    const home = tempDir();
    const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
    const { repo, git: withOwn } = await setup();
    const wt = await withOwn.createWorktree('r1', 'a', 'HEAD');
    if (!wt.ok) throw new Error(wt.error);
    const bare = await Git.open(repo.dir, { env });
    if (!bare.ok) throw new Error(bare.error);

    writeIn(wt.value.path, 'one.txt', '1\n');
    await bare.value.commitAll(wt.value.path, 'with the repo identity');
    expect(git(wt.value.path, 'log', '-1', '--format=%an <%ae>')).toBe('swarm test <test@swarm.invalid>');

    repo.git('config', '--unset', 'user.name');
    repo.git('config', '--unset', 'user.email');
    writeIn(wt.value.path, 'two.txt', '2\n');
    await bare.value.commitAll(wt.value.path, 'with no identity');
    expect(git(wt.value.path, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe('swarm <swarm@localhost>|swarm <swarm@localhost>');
  });
});

describe("the user's checkout", () => {
  it('stays byte-for-byte the same, dirty as it was, through a whole run of operations', async () => {
    const { repo, git: g } = await setup({ 'README.md': '# test\n', 'src/app.ts': 'one\n' });
    // A dirty checkout: a staged change, an unstaged change, and an untracked file.
    repo.write('src/app.ts', 'one\nstaged\n');
    repo.git('add', 'src/app.ts');
    repo.write('src/app.ts', 'one\nstaged\nunstaged\n');
    repo.write('notes.txt', 'untracked\n');
    const before = snapshotCheckout(repo.dir);
    expect(await g.userCheckoutDirty()).toBe(true);

    await g.ensureExcluded();
    await g.ensureIntegrationBranch('swarm/r1', 'HEAD', 'r1');
    const [a, b] = await Promise.all([g.createWorktree('r1', 'a', 'swarm/r1'), g.createWorktree('r1', 'b', 'swarm/r1')]);
    if (!a?.ok || !b?.ok) throw new Error('worktrees');
    writeIn(a.value.path, 'src/app.ts', 'changed by a\n');
    writeIn(b.value.path, 'src/app.ts', 'changed by b\n');
    await g.commitAll(a.value.path, 'a');
    await g.commitAll(b.value.path, 'b');
    const msg = { run: 'r1', into: 'swarm/r1', strategy: 'merge' as const, message: 'm' };
    expect((await g.merge({ ...msg, task: 'a', branch: a.value.branch, check: 'true' })).kind).toBe('merged');
    expect((await g.merge({ ...msg, task: 'b', branch: b.value.branch })).kind).toBe('conflict');
    await g.mergeIntegrationIntoTask(b.value.path, 'swarm/r1', await g.integrationHead('swarm/r1'));
    writeIn(b.value.path, 'src/app.ts', 'a and b\n');
    await g.commitAll(b.value.path, 'resolved');
    expect((await g.merge({ ...msg, task: 'b', branch: b.value.branch, strategy: 'rebase', check: 'false' })).kind).toBe('check-failed');
    expect((await g.merge({ ...msg, task: 'b', branch: b.value.branch, strategy: 'squash' })).kind).toBe('merged');
    await g.isMerged(b.value.branch, 'swarm/r1');
    await g.changedPaths(a.value.path, 'swarm/r1');
    await g.removeWorktree(a.value.path);
    await g.deleteBranch(a.value.branch);
    await g.userCheckoutDirty();

    expect(snapshotCheckout(repo.dir)).toBe(before);
    expect(repo.git('show', 'swarm/r1:src/app.ts')).toBe('a and b');
  });

  it('reports a clean checkout as clean', async () => {
    const { git: g } = await setup();
    expect(await g.userCheckoutDirty()).toBe(false);
  });
});

async function withTask(files?: Record<string, string>) {
  const { repo, git: g } = await setup(files);
  const wt = await g.createWorktree('r1', 'a', 'HEAD');
  if (!wt.ok) throw new Error(wt.error);
  return { repo, g, wt: wt.value.path, start: wt.value.startSha };
}
