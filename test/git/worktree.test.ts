import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitError } from '../../src/git/index.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, git, openRepo, writeIn } from './fixture.js';

const repos: TempRepo[] = [];
async function setup(files?: Record<string, string>) {
  const opened = await openRepo(files);
  repos.push(opened.repo);
  return opened;
}
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

function branches(dir: string): string[] {
  return git(dir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').split('\n').filter(Boolean).sort();
}

function worktreePaths(dir: string): string[] {
  return git(dir, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}

describe('createWorktree', () => {
  it('creates eight worktrees at once, each on its own branch at the start commit', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const results = await Promise.all(ids.map((id) => g.createWorktree('r1', id, base)));
    for (const [i, result] of results.entries()) {
      const id = ids[i]!;
      expect(result).toEqual({
        ok: true,
        value: { path: join(repo.dir, '.swarm/worktrees/r1', id), branch: `swarm-task/r1/${id}`, startSha: base },
      });
      const path = join(repo.dir, '.swarm/worktrees/r1', id);
      expect(git(path, 'symbolic-ref', '--short', 'HEAD')).toBe(`swarm-task/r1/${id}`);
      expect(readFileSync(join(path, 'README.md'), 'utf8')).toBe('# test\n');
    }
    expect(branches(repo.dir)).toEqual(['main', ...ids.map((id) => `swarm-task/r1/${id}`)]);
    expect(worktreePaths(repo.dir)).toHaveLength(9);
    expect((await g.listRunWorktrees('r1')).map((w) => w.name)).toEqual(ids);
  });

  it('returns an error and creates nothing when `from` is not a commit', async () => {
    const { repo, git: g } = await setup();
    const result = await g.createWorktree('r1', 'a', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/cannot start task a: .*does not name a commit/);
    expect(branches(repo.dir)).toEqual(['main']);
    expect(worktreePaths(repo.dir)).toEqual([repo.dir]);
    expect(existsSync(join(repo.dir, '.swarm/worktrees/r1/a'))).toBe(false);
  });

  it('removes the worktree, folder and new branch when `git worktree add` fails half-way', async () => {
    const { repo, git: g } = await setup();
    // A failing post-checkout hook makes `git worktree add` exit non-zero after it made
    // the branch and the worktree: exactly the half-made state that must not stay.
    mkdirSync(join(repo.dir, 'hooks'));
    writeFileSync(join(repo.dir, 'hooks/post-checkout'), '#!/bin/sh\necho refusing >&2\nexit 3\n');
    chmodSync(join(repo.dir, 'hooks/post-checkout'), 0o755);
    repo.git('config', 'core.hooksPath', join(repo.dir, 'hooks'));
    const result = await g.createWorktree('r1', 'a', 'HEAD');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('refusing');
    expect(branches(repo.dir)).toEqual(['main']);
    expect(worktreePaths(repo.dir)).toEqual([repo.dir]);
    expect(existsSync(join(repo.dir, '.swarm/worktrees/r1/a'))).toBe(false);
  });

  it('on resume checks out the existing branch with its commits instead of resetting it', async () => {
    const { repo, git: g } = await setup();
    const base = repo.git('rev-parse', 'HEAD');
    const first = await g.createWorktree('r1', 'a', base);
    if (!first.ok) throw new Error(first.error);
    const work = commitFile(first.value.path, 'src/a.ts', 'export const a = 1;\n');
    await g.removeWorktree(first.value.path);
    expect(existsSync(first.value.path)).toBe(false);

    // The integration branch moved on meanwhile; the task's branch keeps its own start.
    const later = repo.commitAll('later on main');
    const again = await g.createWorktree('r1', 'a', later);
    expect(again).toEqual({ ok: true, value: { path: first.value.path, branch: 'swarm-task/r1/a', startSha: base } });
    expect(git(first.value.path, 'rev-parse', 'HEAD')).toBe(work);
    expect(readFileSync(join(first.value.path, 'src/a.ts'), 'utf8')).toBe('export const a = 1;\n');
  });

  it('reuses a worktree that is still there on the same branch, uncommitted work included', async () => {
    const { git: g } = await setup();
    const first = await g.createWorktree('r1', 'a', 'HEAD');
    if (!first.ok) throw new Error(first.error);
    writeIn(first.value.path, 'draft.txt', 'not committed yet\n');
    const again = await g.createWorktree('r1', 'a', 'HEAD');
    expect(again).toEqual(first);
    expect(readFileSync(join(first.value.path, 'draft.txt'), 'utf8')).toBe('not committed yet\n');
  });

  it('refuses a folder in the way that is not a worktree, and leaves it as it was', async () => {
    const { repo, git: g } = await setup();
    writeIn(repo.dir, '.swarm/worktrees/r1/a/keep.txt', 'mine\n');
    const result = await g.createWorktree('r1', 'a', 'HEAD');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/exists and is not a worktree/);
    expect(readFileSync(join(repo.dir, '.swarm/worktrees/r1/a/keep.txt'), 'utf8')).toBe('mine\n');
    expect(branches(repo.dir)).toEqual(['main']);
  });

  it('rejects run and task names that swarm.yaml would not allow', async () => {
    const { git: g } = await setup();
    expect((await g.createWorktree('r1', '../escape', 'HEAD')).ok).toBe(false);
    expect((await g.createWorktree('R1', 'a', 'HEAD')).ok).toBe(false);
    expect((await g.createWorktree('r1', 'a..b', 'HEAD')).ok).toBe(false);
  });
});

describe('removeWorktree and deleteBranch', () => {
  it('refuses to remove a worktree with uncommitted changes unless forced', async () => {
    const { repo, git: g } = await setup();
    const wt = await g.createWorktree('r1', 'a', 'HEAD');
    if (!wt.ok) throw new Error(wt.error);
    writeIn(wt.value.path, 'new-file.txt', 'untracked\n');
    expect(await g.isDirty(wt.value.path)).toBe(true);
    const refused = await g.removeWorktree(wt.value.path).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GitError);
    expect((refused as GitError).code).toBe('dirty');
    expect(existsSync(join(wt.value.path, 'new-file.txt'))).toBe(true);

    await g.removeWorktree(wt.value.path, { force: true });
    expect(existsSync(wt.value.path)).toBe(false);
    expect(worktreePaths(repo.dir)).toEqual([repo.dir]);
    // The branch outlives its folder: committed work is never lost by removing a worktree.
    expect(branches(repo.dir)).toEqual(['main', 'swarm-task/r1/a']);
  });

  it('removes a clean worktree, and refuses anything outside swarm worktrees', async () => {
    const { repo, git: g } = await setup();
    const wt = await g.createWorktree('r1', 'a', 'HEAD');
    if (!wt.ok) throw new Error(wt.error);
    expect(await g.isDirty(wt.value.path)).toBe(false);
    await g.removeWorktree(wt.value.path);
    expect(existsSync(wt.value.path)).toBe(false);
    await g.removeWorktree(wt.value.path); // already gone: not an error
    const outside = await g.removeWorktree(repo.dir, { force: true }).catch((e: unknown) => e);
    expect((outside as GitError).code).toBe('protected');
    expect(existsSync(join(repo.dir, 'README.md'))).toBe(true);
  });

  it('deletes task branches only, never the user current or integration branch', async () => {
    const { repo, git: g } = await setup();
    const wt = await g.createWorktree('r1', 'a', 'HEAD');
    if (!wt.ok) throw new Error(wt.error);
    await g.ensureIntegrationBranch('swarm/r1', 'HEAD', 'r1');

    const checkedOut = await g.deleteBranch('swarm-task/r1/a').catch((e: unknown) => e);
    expect((checkedOut as GitError).code).toBe('protected');
    expect(((await g.deleteBranch('main').catch((e: unknown) => e)) as GitError).code).toBe('protected');
    expect(((await g.deleteBranch('swarm/r1').catch((e: unknown) => e)) as GitError).code).toBe('protected');

    await g.removeWorktree(wt.value.path);
    await g.deleteBranch('swarm-task/r1/a');
    await g.deleteBranch('swarm-task/r1/a'); // already gone: not an error
    expect(branches(repo.dir)).toEqual(['main', 'swarm/r1']);
  });
});
