import { execa } from 'execa';
import { GitError } from './errors.js';

export interface GitOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GitCall {
  readonly cwd: string;
  /** Extra environment for this call, on top of the runner's. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Variables that point git at a particular repository, index or worktree. When swarm runs
 * inside a git hook (`swarm hook` from pre-commit) they are set for the hook's repository;
 * inherited, they would make every command below act on the wrong index.
 */
const LOCATING_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_PREFIX',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
];

/** The process environment without git's locating variables, plus `extra`. */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !LOCATING_VARS.includes(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

const LOCK_RETRIES = 5;
const LOCK_BACKOFF_MS = 60;

/**
 * Another git process holds a lock file (`index.lock`, `HEAD.lock`, a ref's `.lock`). git
 * quotes the lock's path in every language, so this does not depend on the locale; a ref
 * that cannot exist (`cannot lock ref` without a `.lock` path) is not retried.
 */
export function isLockError(stderr: string): boolean {
  return /\.lock'/.test(stderr);
}

/** Runs git with a fixed base environment; never through a shell. */
export class GitRunner {
  readonly #env: Record<string, string>;

  constructor(env: Readonly<Record<string, string>> = {}) {
    this.#env = cleanEnv({
      // No command swarm runs may ever wait for a person.
      GIT_TERMINAL_PROMPT: '0',
      GIT_EDITOR: 'true',
      GIT_SEQUENCE_EDITOR: 'true',
      GIT_MERGE_AUTOEDIT: 'no',
      ...env,
    });
  }

  /**
   * A runner whose every call also has `key=value` set through `GIT_CONFIG_*` (appended to
   * any the environment already carries, so the user's own still apply).
   */
  withConfig(key: string, value: string): GitRunner {
    const count = Number.parseInt(this.#env.GIT_CONFIG_COUNT ?? '', 10);
    const n = Number.isInteger(count) && count > 0 ? count : 0;
    return new GitRunner({ ...this.#env, GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: key, [`GIT_CONFIG_VALUE_${n}`]: value });
  }

  /** The environment every call starts from; the merge check runs in it too. */
  get env(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** Runs git and returns its exit code and output, whatever they are. Retries on lock contention. */
  async run(args: readonly string[], call: GitCall): Promise<GitOutput> {
    for (let attempt = 0; ; attempt++) {
      const result = await execa('git', args, {
        cwd: call.cwd,
        env: { ...this.#env, ...(call.env ?? {}) },
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        stripFinalNewline: false,
      });
      const out: GitOutput = {
        exitCode: result.exitCode ?? -1,
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
      };
      if (out.exitCode === 0 || attempt >= LOCK_RETRIES || !isLockError(out.stderr)) return out;
      await delay(LOCK_BACKOFF_MS * 2 ** attempt);
    }
  }

  /** Runs git and returns trimmed stdout; any non-zero exit is a `GitError`. */
  async ok(args: readonly string[], call: GitCall): Promise<string> {
    const out = await this.run(args, call);
    if (out.exitCode !== 0) throw commandFailed(args, out);
    return out.stdout.trim();
  }
}

export function commandFailed(args: readonly string[], out: GitOutput): GitError {
  const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-8).join('\n');
  return new GitError('command-failed', `git ${args.join(' ')} failed (exit ${out.exitCode}): ${detail}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
