import { execa } from 'execa';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enforcementEnv, resolveOrigHooksPath } from '../../src/hooks/env.js';
import { openStore } from '../../src/store/index.js';
import { git, GIT_ENV } from '../helpers/git-repo.js';
import { SWARM_ARGV, taskRepo, type TaskRepo } from './fixture.js';

/** The built module: its guard script calls the hooks' own entry point, as in production. */
const { ensureGuardHooksDir } = (await import(new URL('../../dist/hooks/env.js', import.meta.url).href)) as typeof import('../../src/hooks/env.js');

let t: TaskRepo;
let env: Record<string, string>;

beforeEach(async () => {
  t = taskRepo();
  const guardHooksDir = ensureGuardHooksDir(t.stateDir, SWARM_ARGV);
  env = enforcementEnv({
    stateDb: t.stateDb,
    run: 'demo',
    task: 'a',
    worktree: t.worktree,
    files: ['src/a/**'],
    enforce: 'block',
    guardHooksDir,
    origHooksPath: await resolveOrigHooksPath(t.worktree),
    baseEnv: {},
  });
});
afterEach(() => t.repo.cleanup());

/** A real `git commit` in the task's worktree, with the agent's environment. */
function commit(extraEnv: Record<string, string> = env, cwd = t.worktree) {
  return execa('git', ['commit', '-q', '-m', 'agent work'], { cwd, env: { ...process.env, ...GIT_ENV, ...extraEnv }, reject: false });
}

function stage(cwd: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(cwd, path), content);
  execaSyncGit(cwd, ['add', '-A']);
}

function execaSyncGit(cwd: string, args: string[]): string {
  return git(cwd, ...args);
}

function repoHook(name: string, body: string): string {
  const path = join(t.root, '.git', 'hooks', name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('the pre-commit guard', () => {
  it('lets a commit of owned files through', async () => {
    stage(t.worktree, { 'src/a/one.ts': 'changed\n' });
    const r = await commit();
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(execaSyncGit(t.worktree, ['log', '-1', '--format=%s'])).toBe('agent work');
  });

  it('refuses a commit that stages files outside the globs, listing them and the owned globs', async () => {
    stage(t.worktree, { 'src/a/one.ts': 'changed\n', 'README.md': 'mine now\n', 'src/b/two.ts': 'too\n' });
    const before = execaSyncGit(t.worktree, ['rev-parse', 'HEAD']);
    const r = await commit();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('commit refused: task a staged files outside the globs it owns');
    expect(r.stderr).toContain('Outside:\n  README.md\n  src/b/two.ts\nOwned:\n  src/a/**');
    expect(execaSyncGit(t.worktree, ['rev-parse', 'HEAD'])).toBe(before);
  });

  it('checks both names of a rename', async () => {
    execaSyncGit(t.worktree, ['mv', 'src/b/two.ts', 'src/a/two.ts']);
    const r = await commit();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Outside:\n  src/b/two.ts\nOwned:');
  });

  it('while the integration branch is merged in, judges only what the task adds on top of it', async () => {
    // Another task's work lands on an integration branch, with a conflict on a file task a owns.
    execaSyncGit(t.root, ['checkout', '-q', '-b', 'integration']);
    stage(t.root, { 'src/b/two.ts': 'b changed\n', 'src/a/one.ts': 'integration side\n' });
    execaSyncGit(t.root, ['commit', '-q', '-m', 'task b']);
    execaSyncGit(t.root, ['checkout', '-q', 'main']);
    stage(t.worktree, { 'src/a/one.ts': 'task side\n' });
    expect((await commit()).exitCode).toBe(0);
    const merge = await execa('git', ['merge', '--no-commit', 'integration'], { cwd: t.worktree, reject: false, env: { ...process.env, ...GIT_ENV } });
    expect(merge.exitCode).not.toBe(0);
    // The resolution stays in the task's files; src/b/two.ts is staged by the merge itself.
    stage(t.worktree, { 'src/a/one.ts': 'both sides\n' });
    const ok = await commit();
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
    // But a change of its own outside its globs is still refused during such a merge.
    execaSyncGit(t.root, ['checkout', '-q', 'integration']);
    stage(t.root, { 'src/a/one.ts': 'again\n' });
    execaSyncGit(t.root, ['commit', '-q', '-m', 'more b']);
    execaSyncGit(t.root, ['checkout', '-q', 'main']);
    await execa('git', ['merge', '--no-commit', 'integration'], { cwd: t.worktree, reject: false, env: { ...process.env, ...GIT_ENV } });
    stage(t.worktree, { 'src/a/one.ts': 'resolved\n', 'README.md': 'sneaky\n' });
    const refused = await commit();
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('Outside:\n  README.md\nOwned:');
  });

  it("runs the repository's own pre-commit hook after its check", async () => {
    const marker = join(t.root, 'hook-ran');
    repoHook('pre-commit', `pwd > '${marker}'`);
    stage(t.worktree, { 'src/a/one.ts': 'changed\n' });
    const r = await commit();
    expect(r.exitCode).toBe(0);
    expect(readFileSync(marker, 'utf8').trim()).toBe(t.worktree);
  });

  it("passes a failing repository hook's refusal through", async () => {
    repoHook('pre-commit', 'echo "lint failed" >&2; exit 3');
    stage(t.worktree, { 'src/a/one.ts': 'changed\n' });
    const r = await commit();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('lint failed');
  });

  it("does not run the repository's hook when its own check refuses", async () => {
    const marker = join(t.root, 'hook-ran');
    repoHook('pre-commit', `touch '${marker}'`);
    stage(t.worktree, { 'README.md': 'x\n' });
    expect((await commit()).exitCode).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it("keeps the repository's other hooks working (commit-msg)", async () => {
    repoHook('commit-msg', 'echo "signed" >> "$1"');
    stage(t.worktree, { 'src/a/one.ts': 'changed\n' });
    expect((await commit()).exitCode).toBe(0);
    expect(execaSyncGit(t.worktree, ['log', '-1', '--format=%B'])).toContain('signed');
  });

  it('without the SWARM_* environment only chains to the repository hook', async () => {
    const marker = join(t.root, 'hook-ran');
    repoHook('pre-commit', `touch '${marker}'`);
    const gitOnly = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('GIT_CONFIG')));
    stage(t.worktree, { 'README.md': 'anyone may\n' });
    const r = await commit(gitOnly);
    expect(r.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('in warn mode lets the commit through and records the violation', async () => {
    stage(t.worktree, { 'README.md': 'x\n' });
    const r = await commit({ ...env, SWARM_ENFORCE: 'warn' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('warning: task a commits files outside its globs');
    const store = openStore(t.stateDb);
    const events = store.events('demo', { task: 'a' }).map((e) => e.event);
    store.close();
    expect(events).toEqual([expect.objectContaining({ type: 'lease', reason: 'violation', path: 'README.md', where: 'pre-commit', blocked: false })]);
  });

  it('works through `swarm hook pre-commit` of the built CLI too', async () => {
    const { ensureGuardHooksDir: fromSources } = await import('../../src/hooks/env.js');
    fromSources(t.stateDir, SWARM_ARGV);
    expect(readFileSync(join(t.stateDir, 'hooks', 'pre-commit'), 'utf8')).toMatch(/dist\/cli\/main\.js hook pre-commit "\$@"/);
    stage(t.worktree, { 'README.md': 'x\n' });
    const r = await commit();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Outside:\n  README.md');
  });

  it('changes no repository config: outside the agent environment git never sees the guard', async () => {
    stage(t.worktree, { 'src/a/one.ts': 'changed\n' });
    await commit();
    expect((await execa('git', ['config', '--get', 'core.hooksPath'], { cwd: t.worktree, reject: false })).stdout).toBe('');
    expect(existsSync(join(t.root, '.git', 'hooks', 'pre-commit'))).toBe(false);
    // The user's own commit of any file goes through, unguarded.
    stage(t.root, { 'README.md': 'user edit\n' });
    expect((await commit({}, t.root)).exitCode).toBe(0);
  });
});
