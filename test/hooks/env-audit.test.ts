import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditPaths } from '../../src/hooks/audit.js';
import { claudeSettingsJson, enforcementEnv, ensureGuardHooksDir, shellQuote } from '../../src/hooks/env.js';
import { globMatcher } from '../../src/hooks/globs.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(name = 'swarm-env-'): string {
  const d = mkdtempSync(join(tmpdir(), name));
  dirs.push(d);
  return d;
}

const base = {
  stateDb: '/repo/.swarm/state.db',
  run: 'demo',
  task: 'a',
  worktree: '/repo/.swarm/worktrees/demo/a',
  files: ['src/a/**'],
  leaseId: 7,
  enforce: 'block' as const,
  guardHooksDir: '/repo/.swarm/hooks',
  origHooksPath: '/repo/.git/hooks',
};

describe('enforcementEnv', () => {
  it('sets the SWARM_* contract and points core.hooksPath at the guard', () => {
    expect(enforcementEnv({ ...base, baseEnv: {} })).toEqual({
      SWARM_STATE_DB: '/repo/.swarm/state.db',
      SWARM_RUN: 'demo',
      SWARM_TASK: 'a',
      SWARM_WORKTREE: '/repo/.swarm/worktrees/demo/a',
      SWARM_FILES: '["src/a/**"]',
      SWARM_LEASE_ID: '7',
      SWARM_ENFORCE: 'block',
      SWARM_ORIG_HOOKS_PATH: '/repo/.git/hooks',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: '/repo/.swarm/hooks',
    });
  });

  it("appends to the caller's GIT_CONFIG_* entries instead of replacing them, and git sees both", async () => {
    const inherited = {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'user.name',
      GIT_CONFIG_VALUE_0: 'x',
      GIT_CONFIG_KEY_1: 'swarm.test',
      GIT_CONFIG_VALUE_1: 'kept',
    };
    const env = enforcementEnv({ ...base, baseEnv: inherited });
    expect(env).toMatchObject({ GIT_CONFIG_COUNT: '3', GIT_CONFIG_KEY_2: 'core.hooksPath', GIT_CONFIG_VALUE_2: '/repo/.swarm/hooks' });
    expect(env).not.toHaveProperty('GIT_CONFIG_KEY_0');
    const all = { ...process.env, ...inherited, ...env };
    const get = (key: string) => execa('git', ['config', '--get', key], { env: all, cwd: tmpdir() }).then((r) => r.stdout);
    expect(await get('swarm.test')).toBe('kept');
    expect(await get('core.hooksPath')).toBe('/repo/.swarm/hooks');
  });
});

describe('shell quoting of the hook commands', () => {
  it('survives spaces and quotes in paths', async () => {
    const dir = join(tempDir(), "it's a dir");
    mkdirSync(dir);
    const fake = join(dir, 'fake swarm');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > "$(dirname "$0")/args"\n`);
    chmodSync(fake, 0o755);
    // From sources there is no built hook entry beside this module, so the settings use swarmArgv.
    const command = (JSON.parse(claudeSettingsJson([fake, '--flag=a b'])) as { hooks: { PreToolUse: { hooks: { command: string }[] }[] } }).hooks.PreToolUse[0]!
      .hooks[0]!.command;
    await execa('sh', ['-c', command]);
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('--flag=a b\nhook\npre-tool-use\n');
    expect(shellQuote('plain/path-1.js')).toBe('plain/path-1.js');
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it('writes an executable guard script and forwarders, and rewriting them is harmless', () => {
    const state = tempDir();
    const dir = ensureGuardHooksDir(state, ['/usr/bin/node', '/x/main.js']);
    const first = readFileSync(join(dir, 'pre-commit'), 'utf8');
    expect(first).toMatch(/^#!\/bin\/sh\n/);
    expect(ensureGuardHooksDir(state, ['/usr/bin/node', '/x/main.js'])).toBe(dir);
    expect(readFileSync(join(dir, 'pre-commit'), 'utf8')).toBe(first);
    expect(readFileSync(join(dir, 'commit-msg'), 'utf8')).toContain('$SWARM_ORIG_HOOKS_PATH/commit-msg');
  });
});

describe('auditPaths', () => {
  it('returns the paths no glob owns, sorted and once each', () => {
    const globs = ['src/a/**', 'docs/*.md', './package.json'];
    const paths = ['src/a/x.ts', 'src/a/deep/y.ts', 'src/b/z.ts', 'docs/readme.md', 'docs/img/x.png', 'package.json', 'README.md', 'src/b/z.ts'];
    expect(auditPaths(paths, globs)).toEqual(['README.md', 'docs/img/x.png', 'src/b/z.ts']);
    expect(auditPaths([], globs)).toEqual([]);
    expect(auditPaths(['a'], [])).toEqual(['a']);
  });

  it('treats dotfiles like other files, `.` as everything and a trailing slash as the folder', () => {
    expect(globMatcher(['src/**'])('src/.env')).toBe(true);
    expect(globMatcher(['.'])('any/where.ts')).toBe(true);
    expect(globMatcher(['lib/'])('lib/x/y.js')).toBe(true);
    expect(globMatcher(['lib/'])('libx/y.js')).toBe(false);
  });
});
