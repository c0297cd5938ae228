import { chmodSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { differences, fingerprint, type FingerprintScope } from '../../src/sandbox/fingerprint.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
afterEach(() => repo?.cleanup());

function scopeOf(r: TempRepo): FingerprintScope {
  return { root: r.dir, commonDir: join(r.dir, '.git'), stateDir: join(r.dir, '.swarm') };
}

describe('tamper fingerprint', () => {
  it('does not flag what swarm itself does while agents run: worktrees added, commits and merges on other branches, branches deleted', async () => {
    repo = tempRepo({ 'README.md': 'hi\n', '.gitignore': '.swarm/\n' });
    const scope = scopeOf(repo);
    const before = await fingerprint(scope);
    const wt = join(repo.dir, '.swarm', 'worktrees', 'r', 't');
    repo.git('worktree', 'add', '-q', '-b', 'swarm-task/r/t', wt);
    writeFileSync(join(wt, 'a.txt'), 'a\n');
    repo.git('-C', wt, 'add', 'a.txt');
    repo.git('-C', wt, 'commit', '-qm', 'a');
    repo.git('branch', 'swarm/r');
    const merge = join(repo.dir, '.swarm', 'worktrees', 'r', '_merge');
    repo.git('worktree', 'add', '-q', merge, 'swarm/r');
    repo.git('-C', merge, 'merge', '-q', '--no-ff', '-m', 'm', 'swarm-task/r/t');
    repo.git('worktree', 'remove', '--force', wt);
    repo.git('branch', '-D', 'swarm-task/r/t');
    expect(differences(before, await fingerprint({ ...scope, mergeWorktree: merge }))).toEqual([]);
  });

  it('names each change: config, a hook added or made executable, the checkout edited, a file added to it, its branch moved', async () => {
    repo = tempRepo({ 'README.md': 'hi\n' });
    const scope = scopeOf(repo);
    const before = await fingerprint(scope);
    writeFileSync(join(repo.dir, '.git', 'config'), '[alias]\n\tx = status\n', { flag: 'a' });
    writeFileSync(join(repo.dir, '.git', 'hooks', 'post-commit'), '#!/bin/sh\n');
    chmodSync(join(repo.dir, '.git', 'hooks', 'pre-commit.sample'), 0o644);
    writeFileSync(join(repo.dir, 'README.md'), 'pwned\n');
    writeFileSync(join(repo.dir, 'new.txt'), 'x\n');
    expect(differences(before, await fingerprint(scope))).toEqual([
      '.git/config changed',
      '.git/hooks/post-commit added',
      '.git/hooks/pre-commit.sample changed',
      'checkout: README.md changed',
      'checkout: new.txt changed',
    ]);
    const dirty = await fingerprint(scope);
    repo.git('commit', '-qam', 'moved by an agent');
    expect(differences(dirty, await fingerprint(scope))).toEqual(['checkout commit changed', 'checkout: README.md changed']);
  });

  it("never rewrites the user's index (git status with no optional locks)", async () => {
    repo = tempRepo({ 'README.md': 'hi\n' });
    const index = join(repo.dir, '.git', 'index');
    // Same content, newer mtime: a plain `git status` would refresh the index and write it.
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(repo.dir, 'README.md'), future, future);
    const before = { bytes: readFileSync(index), mtime: statSync(index).mtimeMs };
    await fingerprint(scopeOf(repo));
    expect(statSync(index).mtimeMs).toBe(before.mtime);
    expect(readFileSync(index).equals(before.bytes)).toBe(true);
  });
});
