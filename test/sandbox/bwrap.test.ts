import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writablePaths } from '../../src/sandbox/bwrap.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
afterEach(() => repo?.cleanup());

describe('what a sandboxed agent may write', () => {
  it("its worktree, the object store, its worktree's admin dir, the run's task refs and reflogs, its spool and temp folder; per kind its config", () => {
    repo = tempRepo();
    const git = join(repo.dir, '.git');
    const wt = join(repo.dir, '.swarm', 'worktrees', 'r', 't');
    repo.git('worktree', 'add', '-q', '-b', 'swarm-task/r/t', wt);
    const layout = { commonDir: git, stateDir: join(repo.dir, '.swarm') };
    const spool = join(repo.dir, '.swarm', 'spool', 'r', 't.jsonl');
    const env = { HOME: '/home/u', SWARM_SPOOL: spool };
    const command = writablePaths({ run: 'r', task: 't', kind: 'command', worktree: wt, env }, layout);
    expect(command.dirs.sort()).toEqual(
      [
        wt,
        join(git, 'objects'),
        join(git, 'refs', 'heads', 'swarm-task', 'r'),
        join(git, 'logs', 'refs', 'heads', 'swarm-task', 'r'),
        join(git, 'worktrees', 't'),
        join(repo.dir, '.swarm', 'tmp', 'r', 't'),
      ].sort(),
    );
    expect(command.files).toEqual([spool]);
    // Inside the writable folders, the pointers to the repository stay read-only.
    expect(command.readOnly.sort()).toEqual(
      [join(wt, '.git'), join(git, 'objects', 'info'), join(git, 'worktrees', 't', 'commondir'), join(git, 'worktrees', 't', 'gitdir')].sort(),
    );
    // Never the shared config, hooks, info, the integration branch's folder or .swarm itself.
    for (const p of [...command.dirs, ...command.files]) {
      expect(p).not.toMatch(/\.git\/(config|hooks|info)|refs\/heads\/swarm\/|\.swarm\/(state\.db|hooks|logs)/);
    }
    expect(writablePaths({ run: 'r', task: 't', kind: 'claude', worktree: wt, env }, layout).dirs).toContain('/home/u/.claude');
    expect(writablePaths({ run: 'r', task: 't', kind: 'claude', worktree: wt, env: { ...env, CLAUDE_CONFIG_DIR: '/c' } }, layout).dirs).toContain('/c');
    expect(writablePaths({ run: 'r', task: 't', kind: 'codex', worktree: wt, env }, layout).dirs).toContain('/home/u/.codex');
    expect(writablePaths({ run: 'r', task: 't', kind: 'codex', worktree: wt, env: { ...env, CODEX_HOME: '/x' } }, layout).dirs).toContain('/x');
  });
});
