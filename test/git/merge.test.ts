import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MergeStrategy } from '../../src/config/spec.js';
import { type Git, GitError } from '../../src/git/index.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, git, history, openRepo, writeIn } from './fixture.js';

const repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

const RUN = 'r1';

/** Alive and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const INTO = 'swarm/r1';

/** A repo with the integration branch and its merge worktree, and two task worktrees. */
async function setup() {
  const { repo, git: g } = await openRepo({ 'README.md': '# test\n', 'shared.txt': 'one\ntwo\nthree\n' });
  repos.push(repo);
  const base = repo.git('rev-parse', 'HEAD');
  expect(await g.ensureIntegrationBranch(INTO, base, RUN)).toBe(base);
  const a = await g.createWorktree(RUN, 'a', INTO);
  const b = await g.createWorktree(RUN, 'b', INTO);
  if (!a.ok || !b.ok) throw new Error('worktrees');
  return { repo, g, base, a: a.value, b: b.value, mergeDir: g.mergeWorktreePath(RUN) };
}

function mergeTask(g: Git, task: string, strategy: MergeStrategy, extra: { check?: string; signal?: AbortSignal } = {}) {
  return g.merge({ run: RUN, into: INTO, task, branch: `swarm-task/${RUN}/${task}`, strategy, message: `swarm(${task}): work`, ...extra });
}

describe('merge strategies', () => {
  it('merge: a --no-ff merge commit per task, task commits kept', async () => {
    const { repo, g, a, b } = await setup();
    commitFile(a.path, 'a.txt', 'a\n', 'a1');
    commitFile(a.path, 'a2.txt', 'a\n', 'a2');
    commitFile(b.path, 'b.txt', 'b\n', 'b1');
    const first = await mergeTask(g, 'a', 'merge');
    const second = await mergeTask(g, 'b', 'merge');
    expect(first.kind).toBe('merged');
    expect(second).toEqual({ kind: 'merged', commit: repo.git('rev-parse', INTO) });
    expect(history(repo.dir, INTO, '--first-parent')).toEqual(['merge: swarm(b): work', 'merge: swarm(a): work', 'initial']);
    expect(history(repo.dir, `${INTO}~1^2`)).toEqual(['a2', 'a1', 'initial']);
    expect(history(repo.dir, `${INTO}^2`)).toEqual(['b1', 'initial']);
    expect(await g.isMerged('swarm-task/r1/a', INTO)).toBe(true);
  });

  it('squash: one commit per task on a linear integration branch', async () => {
    const { repo, g, a, b } = await setup();
    repo.git('config', 'merge.ff', 'false'); // would make a plain `git merge --squash` refuse
    commitFile(a.path, 'a.txt', 'a\n', 'a1');
    commitFile(a.path, 'a2.txt', 'a\n', 'a2');
    commitFile(b.path, 'b.txt', 'b\n', 'b1');
    expect((await mergeTask(g, 'a', 'squash')).kind).toBe('merged');
    expect((await mergeTask(g, 'b', 'squash')).kind).toBe('merged');
    expect(history(repo.dir, INTO)).toEqual(['swarm(b): work', 'swarm(a): work', 'initial']);
    expect(repo.git('ls-tree', '--name-only', INTO).split('\n').sort()).toEqual(['README.md', 'a.txt', 'a2.txt', 'b.txt', 'shared.txt']);
    // Squashed work is not an ancestor, yet it is recognised as merged.
    expect(await g.isMerged('swarm-task/r1/a', INTO)).toBe(true);
    expect(await g.isMerged('swarm-task/r1/b', INTO)).toBe(true);
  });

  for (const strategy of ['squash', 'rebase'] as const) {
    it(`${strategy}: a merged task is still known as merged after a later task rewrote its lines`, async () => {
      const { repo, g, a, b } = await setup();
      commitFile(a.path, 'shared.txt', 'one\nTWO by a\nthree\n', 'a1');
      commitFile(b.path, 'b.txt', 'b\n', 'b1');
      expect((await mergeTask(g, 'a', strategy)).kind).toBe('merged');
      expect(repo.git('log', '-1', '--format=%(trailers:key=Swarm-Commit,valueonly)', INTO)).toBe(repo.git('rev-parse', 'swarm-task/r1/a'));
      // c starts after a is merged and rewrites the very line a wrote.
      const c = await g.createWorktree(RUN, 'c', INTO);
      if (!c.ok) throw new Error(c.error);
      commitFile(c.value.path, 'shared.txt', 'one\nTWO by c\nthree\n', 'c1');
      expect((await mergeTask(g, 'c', strategy)).kind).toBe('merged');
      // Merging a again would change the file back: only the trailer tells that a is in.
      expect(await g.isMerged('swarm-task/r1/a', INTO)).toBe(true);
      expect(await g.isMerged('swarm-task/r1/b', INTO)).toBe(false);
    });
  }

  it('rebase: task commits replayed linearly, the task branch itself untouched', async () => {
    const { repo, g, a, b } = await setup();
    repo.git('config', 'rebase.updateRefs', 'true'); // would drag the task branch along
    commitFile(a.path, 'a.txt', 'a\n', 'a1');
    const bTip = commitFile(b.path, 'b.txt', 'b\n', 'b1');
    commitFile(b.path, 'b2.txt', 'b\n', 'b2');
    const bTip2 = git(b.path, 'rev-parse', 'HEAD');
    expect((await mergeTask(g, 'a', 'rebase')).kind).toBe('merged');
    expect((await mergeTask(g, 'b', 'rebase')).kind).toBe('merged');
    expect(history(repo.dir, INTO)).toEqual(['b2', 'b1', 'a1', 'initial']);
    expect(repo.git('rev-parse', 'swarm-task/r1/b')).toBe(bTip2);
    expect(repo.git('rev-parse', 'swarm-task/r1/b~1')).toBe(bTip);
    expect(await g.isMerged('swarm-task/r1/b', INTO)).toBe(true);
    expect(await g.isMerged('swarm-task/r1/a', INTO)).toBe(true);
  });

  it('reports unmerged work as not merged', async () => {
    const { g, a } = await setup();
    commitFile(a.path, 'a.txt', 'a\n');
    expect(await g.isMerged('swarm-task/r1/a', INTO)).toBe(false);
    expect(await g.isMerged('swarm-task/r1/missing', INTO)).toBe(false);
  });
});

describe('conflicts', () => {
  for (const strategy of ['merge', 'squash', 'rebase'] as const) {
    it(`${strategy}: returns the conflicted files and leaves the merge worktree clean at the head`, async () => {
      const { repo, g, a, b, mergeDir } = await setup();
      commitFile(a.path, 'shared.txt', 'one\nTWO from a\nthree\n');
      commitFile(b.path, 'shared.txt', 'one\nTWO from b\nthree\n');
      commitFile(b.path, 'b-only.txt', 'b\n');
      expect((await mergeTask(g, 'a', strategy)).kind).toBe('merged');
      const head = repo.git('rev-parse', INTO);
      expect(await mergeTask(g, 'b', strategy)).toEqual({ kind: 'conflict', files: ['shared.txt'] });
      expect(repo.git('rev-parse', INTO)).toBe(head);
      expect(git(mergeDir, 'status', '--porcelain')).toBe('');
      expect(git(mergeDir, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${INTO}`);
      expect(readFileSync(join(mergeDir, 'shared.txt'), 'utf8')).toBe('one\nTWO from a\nthree\n');
      expect(existsSync(join(mergeDir, 'b-only.txt'))).toBe(false);
    });
  }

  it('mergeIntegrationIntoTask leaves the markers uncommitted; commitAll then concludes the merge', async () => {
    const { g, a, b } = await setup();
    commitFile(a.path, 'shared.txt', 'one\nTWO from a\nthree\n');
    const bWork = commitFile(b.path, 'shared.txt', 'one\nTWO from b\nthree\n');
    await mergeTask(g, 'a', 'merge');

    expect(await g.mergeIntegrationIntoTask(b.path, INTO, await g.integrationHead(INTO))).toEqual({ conflicted: ['shared.txt'] });
    const text = readFileSync(join(b.path, 'shared.txt'), 'utf8');
    expect(text).toMatch(/^<<<<<<< /m);
    expect(text).toContain('TWO from a');
    expect(text).toContain('TWO from b');
    expect(git(b.path, 'rev-parse', 'HEAD')).toBe(bWork);
    expect(git(b.path, 'rev-parse', 'MERGE_HEAD')).toBe(git(a.path, 'rev-parse', INTO));
    expect(await g.isDirty(b.path)).toBe(true);
    // Asked again (a retry), it keeps the merge in progress rather than starting over.
    writeIn(b.path, 'notes.txt', 'agent progress\n');
    expect(await g.mergeIntegrationIntoTask(b.path, INTO, await g.integrationHead(INTO))).toEqual({ conflicted: ['shared.txt'] });
    expect(readFileSync(join(b.path, 'notes.txt'), 'utf8')).toBe('agent progress\n');

    // Committing with the markers still there is refused.
    const refused = await g.commitAll(b.path, 'resolve').catch((e: unknown) => e);
    expect((refused as GitError).code).toBe('commit-failed');

    writeIn(b.path, 'shared.txt', 'one\nTWO from a and b\nthree\n');
    // A Markdown heading underline looks like the middle marker; it is not one.
    writeIn(b.path, 'doc.md', 'Title\n=======\n');
    const resolved = await g.commitAll(b.path, 'swarm(b): resolve');
    expect(resolved).not.toBeNull();
    expect(git(b.path, 'rev-list', '--parents', '-n1', 'HEAD').split(' ')).toHaveLength(3);
    expect(await g.changedPaths(b.path, INTO)).toEqual(['doc.md', 'notes.txt', 'shared.txt']);
  });

  it('mergeIntegrationIntoTask commits at once when there is no conflict', async () => {
    const { g, a, b } = await setup();
    commitFile(a.path, 'a.txt', 'a\n');
    const bWork = commitFile(b.path, 'b.txt', 'b\n');
    await mergeTask(g, 'a', 'merge');
    expect(await g.mergeIntegrationIntoTask(b.path, INTO, await g.integrationHead(INTO))).toEqual({ conflicted: [] });
    expect(git(b.path, 'rev-parse', 'HEAD^1')).toBe(bWork);
    expect(existsSync(join(b.path, 'a.txt'))).toBe(true);
    expect(await g.isDirty(b.path)).toBe(false);
  });

  for (const strategy of ['merge', 'squash', 'rebase'] as const) {
    it(`${strategy}: a task that resolved its conflict with the integration merges without conflict`, async () => {
      const { repo, g, a, b } = await setup();
      commitFile(a.path, 'shared.txt', 'one\nTWO from a\nthree\n', 'a1');
      commitFile(b.path, 'shared.txt', 'one\nTWO from b\nthree\n', 'b1');
      await mergeTask(g, 'a', strategy);
      expect((await g.mergeIntegrationIntoTask(b.path, INTO, await g.integrationHead(INTO))).conflicted).toEqual(['shared.txt']);
      writeIn(b.path, 'shared.txt', 'one\nTWO from a and b\nthree\n');
      await g.commitAll(b.path, 'resolve');
      commitFile(b.path, 'b-after.txt', 'after\n', 'b2');
      const outcome = await mergeTask(g, 'b', strategy);
      expect(outcome.kind).toBe('merged');
      expect(repo.git('show', `${INTO}:shared.txt`)).toBe('one\nTWO from a and b\nthree');
      expect(repo.git('show', `${INTO}:b-after.txt`)).toBe('after');
      if (strategy === 'rebase') expect(repo.git('rev-list', '--merges', INTO)).toBe('');
    });
  }
});

describe('the merge worktree', () => {
  it('recovers from whatever a crash left in it: a merge in progress, a detached rebase, stray files', async () => {
    const { repo, g, a, b, mergeDir } = await setup();
    commitFile(a.path, 'shared.txt', 'one\nTWO from a\nthree\n');
    commitFile(b.path, 'shared.txt', 'one\nTWO from b\nthree\n');
    await mergeTask(g, 'a', 'merge');
    // A crash in the middle of a conflicting merge, plus a file a check left behind.
    expect(() => git(mergeDir, 'merge', 'swarm-task/r1/b')).toThrow();
    writeIn(mergeDir, 'stray.txt', 'left by a check\n');
    const head = repo.git('rev-parse', INTO);
    expect(await mergeTask(g, 'b', 'merge')).toEqual({ kind: 'conflict', files: ['shared.txt'] });
    expect(repo.git('rev-parse', INTO)).toBe(head);
    expect(existsSync(join(mergeDir, 'stray.txt'))).toBe(false);

    // A crash in the middle of a rebase leaves the worktree detached.
    git(mergeDir, 'checkout', '-q', '--detach', 'swarm-task/r1/b');
    expect(() => git(mergeDir, 'rebase', INTO)).toThrow();
    const c = await g.createWorktree(RUN, 'c', INTO);
    if (!c.ok) throw new Error(c.error);
    commitFile(c.value.path, 'c.txt', 'c\n', 'c1');
    expect((await mergeTask(g, 'c', 'rebase')).kind).toBe('merged');
    expect(git(mergeDir, 'symbolic-ref', '--short', 'HEAD')).toBe(INTO);
    expect(history(repo.dir, INTO, '--first-parent')).toEqual(['c1', 'merge: swarm(a): work', 'initial']);
    expect(await g.listTaskBranches(RUN)).toEqual(['swarm-task/r1/a', 'swarm-task/r1/b', 'swarm-task/r1/c']);
  });
});

describe('merge.check', () => {
  it('undoes the merge when the check fails, with the output tail', async () => {
    const { repo, g, a, mergeDir } = await setup();
    commitFile(a.path, 'a.txt', 'a\n');
    const head = repo.git('rev-parse', INTO);
    const outcome = await mergeTask(g, 'a', 'merge', { check: 'test -f a.txt && echo "checked $(cat a.txt)" && exit 7' });
    expect(outcome).toEqual({ kind: 'check-failed', output: 'checked a\n', exitCode: 7 });
    expect(repo.git('rev-parse', INTO)).toBe(head);
    expect(git(mergeDir, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(mergeDir, 'a.txt'))).toBe(false);
  });

  it('keeps the merge when the check passes, and gives the check the env', async () => {
    const { repo, g, a } = await setup();
    commitFile(a.path, 'a.txt', 'a\n');
    const outcome = await g.merge({
      run: RUN,
      into: INTO,
      task: 'a',
      branch: 'swarm-task/r1/a',
      strategy: 'squash',
      message: 'swarm(a): work',
      check: 'test "$MY_FLAG" = yes && test -f a.txt',
      env: { MY_FLAG: 'yes' },
    });
    expect(outcome).toEqual({ kind: 'merged', commit: repo.git('rev-parse', INTO) });
    expect(history(repo.dir, INTO)[0]).toBe('swarm(a): work');
  });

  it('an abort kills the check and its children and undoes the merge', async () => {
    const { repo, g, a } = await setup();
    commitFile(a.path, 'a.txt', 'a\n');
    const head = repo.git('rev-parse', INTO);
    const controller = new AbortController();
    const pidFile = join(repo.dir, '.swarm', 'check-child.pid');
    const pending = mergeTask(g, 'a', 'merge', {
      check: `sleep 30 & echo $! > ${JSON.stringify(`${pidFile}.tmp`)}; mv ${JSON.stringify(`${pidFile}.tmp`)} ${JSON.stringify(pidFile)}; wait`,
      signal: controller.signal,
    });
    // Polls for the check to have started its child; the abort is what is under test.
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 20));
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    expect(running(child)).toBe(true);
    controller.abort();
    const outcome = await pending;
    expect(outcome.kind).toBe('check-failed');
    expect(outcome.kind === 'check-failed' && outcome.output).toMatch(/check stopped/);
    expect(running(child)).toBe(false);
    expect(repo.git('rev-parse', INTO)).toBe(head);
  });
});

describe('the integration branch', () => {
  it('is created at the base, never moved when it exists, and checked out only in the merge worktree', async () => {
    const { repo, g, base, mergeDir } = await setup();
    const later = repo.commitAll('later');
    expect(await g.ensureIntegrationBranch(INTO, later, RUN)).toBe(base);
    expect(git(mergeDir, 'symbolic-ref', '--short', 'HEAD')).toBe(INTO);
  });

  it('is refused when it is the branch the user has checked out', async () => {
    const { repo, git: g } = await openRepo();
    repos.push(repo);
    const refused = await g.ensureIntegrationBranch('main', 'HEAD', RUN).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GitError);
    expect((refused as GitError).code).toBe('checked-out');
    expect((refused as GitError).message).toMatch(/checked out in your working tree/);
    expect(existsSync(g.mergeWorktreePath(RUN))).toBe(false);
  });
});
