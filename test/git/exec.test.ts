import { describe, expect, it } from 'vitest';
import { cleanEnv, isLockError } from '../../src/git/exec.js';
import { parseWorktreeList } from '../../src/git/worktree-list.js';

describe('isLockError', () => {
  it('retries on a lock file held by another git, in any language, and not on impossible refs', () => {
    expect(isLockError("fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running")).toBe(true);
    expect(isLockError("fatal: Konnte '/r/.git/index.lock' nicht erstellen: Die Datei existiert bereits.")).toBe(true);
    expect(isLockError("error: cannot lock ref 'refs/heads/x': Unable to create '/r/.git/refs/heads/x.lock': File exists.")).toBe(true);
    expect(isLockError("fatal: cannot lock ref 'refs/heads/swarm/r1': 'refs/heads/swarm/r1/a' exists; cannot create 'refs/heads/swarm/r1'")).toBe(false);
    expect(isLockError('CONFLICT (content): Merge conflict in a.txt')).toBe(false);
  });
});

describe('cleanEnv', () => {
  it('drops the variables a git hook sets, so swarm never acts on the hook repository index', () => {
    const saved = { ...process.env };
    try {
      process.env.GIT_DIR = '/elsewhere/.git';
      process.env.GIT_INDEX_FILE = '/elsewhere/.git/index';
      process.env.KEEP_ME = 'yes';
      const env = cleanEnv({ EXTRA: '1' });
      expect(env.GIT_DIR).toBeUndefined();
      expect(env.GIT_INDEX_FILE).toBeUndefined();
      expect(env.KEEP_ME).toBe('yes');
      expect(env.EXTRA).toBe('1');
    } finally {
      process.env = saved;
    }
  });
});

describe('parseWorktreeList', () => {
  it('reads porcelain -z output, odd paths included', () => {
    const text =
      'worktree /repo\0HEAD aaa\0branch refs/heads/main\0\0' +
      'worktree /repo/.swarm/worktrees/r1/with space \0HEAD bbb\0detached\0\0' +
      'worktree /gone\0HEAD ccc\0branch refs/heads/swarm-task/r1/a\0prunable gitdir file points to non-existent location\0\0';
    expect(parseWorktreeList(text)).toEqual([
      { path: '/repo', head: 'aaa', branch: 'main', bare: false, detached: false, prunable: false, locked: false },
      { path: '/repo/.swarm/worktrees/r1/with space ', head: 'bbb', bare: false, detached: true, prunable: false, locked: false },
      { path: '/gone', head: 'ccc', branch: 'swarm-task/r1/a', bare: false, detached: false, prunable: true, locked: false },
    ]);
  });
});
