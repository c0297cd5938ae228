import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A stable git identity and no user/system config, so tests behave the same everywhere. */
export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'swarm test',
  GIT_AUTHOR_EMAIL: 'test@swarm.invalid',
  GIT_COMMITTER_NAME: 'swarm test',
  GIT_COMMITTER_EMAIL: 'test@swarm.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

export interface TempRepo {
  readonly dir: string;
  git(...args: string[]): string;
  write(path: string, content: string): void;
  commitAll(message: string): string;
  cleanup(): void;
}

/** A real git repository in a temp folder, on branch main, with the given files committed. */
export function tempRepo(files: Record<string, string> = { 'README.md': '# test\n' }): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-test-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', GIT_ENV.GIT_AUTHOR_NAME!);
  git(dir, 'config', 'user.email', GIT_ENV.GIT_AUTHOR_EMAIL!);
  git(dir, 'config', 'commit.gpgsign', 'false');
  const repo: TempRepo = {
    dir,
    git: (...args) => git(dir, ...args),
    write(path, content) {
      const full = join(dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    },
    commitAll(message) {
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '--allow-empty', '-m', message);
      return git(dir, 'rev-parse', 'HEAD');
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [path, content] of Object.entries(files)) repo.write(path, content);
  repo.commitAll('initial');
  return repo;
}
