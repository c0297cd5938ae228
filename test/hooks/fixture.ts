import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

/** A repository with a task worktree where swarm would put it, and the state db path. */
export interface TaskRepo {
  readonly repo: TempRepo;
  /** Real path (tmpdir may be a symlink, e.g. on macOS). */
  readonly root: string;
  readonly worktree: string;
  readonly stateDir: string;
  readonly stateDb: string;
}

export function taskRepo(files: Record<string, string> = {}): TaskRepo {
  const repo = tempRepo({ 'README.md': '# test\n', 'src/a/one.ts': 'one\n', 'src/b/two.ts': 'two\n', ...files });
  repo.write('.git/info/exclude', '/.swarm/\n');
  const root = realpathSync(repo.dir);
  const worktree = join(root, '.swarm', 'worktrees', 'demo', 'a');
  repo.git('worktree', 'add', '-q', '-b', 'swarm/demo/a', worktree);
  return { repo, root, worktree, stateDir: join(root, '.swarm'), stateDb: join(root, '.swarm', 'state.db') };
}

/** How the engine starts swarm: node and the built CLI. */
export const SWARM_ARGV: readonly string[] = [process.execPath, CLI];
