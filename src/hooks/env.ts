import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { packagePath } from '../util/package-path.js';

/**
 * The environment contract between the engine and the guards it installs in each agent
 * process. The engine sets these; `swarm hook pre-tool-use` and `swarm hook pre-commit`
 * read them. Without them a hook is not inside a swarm task and lets everything through.
 */
export const ENV = {
  /** Absolute path of `.swarm/state.db`. */
  stateDb: 'SWARM_STATE_DB',
  run: 'SWARM_RUN',
  task: 'SWARM_TASK',
  /** Absolute path of the task's worktree. */
  worktree: 'SWARM_WORKTREE',
  /** JSON array of the globs the task owns, relative to the worktree root. */
  files: 'SWARM_FILES',
  /** The task's own lease, so the hook does not see it as someone else's. */
  leaseId: 'SWARM_LEASE_ID',
  /** `block` or `warn`. (With `off` the engine sets none of this.) */
  enforce: 'SWARM_ENFORCE',
  /** The repository's own hooks dir, resolved before `core.hooksPath` was pointed at the guard. */
  origHooksPath: 'SWARM_ORIG_HOOKS_PATH',
  /** The task's spool: the hooks append violations there (JSONL); the runner reads them. */
  spool: 'SWARM_SPOOL',
  /**
   * The task's outbox: `swarm msg` and `swarm note` from the agent's shell, and the message
   * hook's receipts, are appended there (JSONL; state.db is read-only in the sandbox); the
   * runner polls it. See outbox.ts.
   */
  outbox: 'SWARM_OUTBOX',
} as const;

export type GuardMode = 'block' | 'warn';

export interface EnforcementOptions {
  readonly stateDb: string;
  readonly run: string;
  readonly task: string;
  readonly worktree: string;
  readonly files: readonly string[];
  readonly leaseId?: number;
  readonly enforce: GuardMode;
  /** From `ensureGuardHooksDir`. */
  readonly guardHooksDir: string;
  /** From `resolveOrigHooksPath`, run in the worktree before the override. */
  readonly origHooksPath: string;
  /** From `spoolPath`: where the hooks record violations. */
  readonly spool?: string;
  /**
   * The environment the agent inherits, read only for an existing `GIT_CONFIG_COUNT`, which
   * is appended to rather than replaced. @default process.env
   */
  readonly baseEnv?: NodeJS.ProcessEnv;
}

/** The variables to add to an agent's environment (on top of the inherited one). */
export function enforcementEnv(opts: EnforcementOptions): Record<string, string> {
  const base = opts.baseEnv ?? process.env;
  const count = Number.parseInt(base.GIT_CONFIG_COUNT ?? '', 10);
  const n = Number.isInteger(count) && count > 0 ? count : 0;
  return {
    [ENV.stateDb]: resolve(opts.stateDb),
    [ENV.run]: opts.run,
    [ENV.task]: opts.task,
    [ENV.worktree]: resolve(opts.worktree),
    [ENV.files]: JSON.stringify(opts.files),
    ...(opts.leaseId !== undefined ? { [ENV.leaseId]: String(opts.leaseId) } : {}),
    [ENV.enforce]: opts.enforce,
    [ENV.origHooksPath]: opts.origHooksPath,
    ...(opts.spool !== undefined ? { [ENV.spool]: resolve(opts.spool) } : {}),
    // Later entries win for a single-valued key, so ours overrides any earlier hooksPath
    // while the caller's other GIT_CONFIG_* settings keep working.
    GIT_CONFIG_COUNT: String(n + 1),
    [`GIT_CONFIG_KEY_${n}`]: 'core.hooksPath',
    [`GIT_CONFIG_VALUE_${n}`]: resolve(opts.guardHooksDir),
  };
}

const run = promisify(execFile);

/**
 * The hooks dir git would use in `worktree` (honouring the repository's `core.hooksPath`,
 * e.g. husky's), as an absolute path. Resolve it before the guard overrides it.
 */
export async function resolveOrigHooksPath(worktree: string): Promise<string> {
  const { stdout } = await run('git', ['rev-parse', '--git-path', 'hooks'], { cwd: worktree, encoding: 'utf8' });
  return resolve(worktree, stdout.trim());
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export const GUARDED_TOOLS = 'Write|Edit|MultiEdit|NotebookEdit';

/**
 * The command line that runs hook `event`. In a build, the hooks' own entry point of this very
 * build (same swarm version, and it skips loading the whole CLI: an agent waits for the hook
 * on every edit); otherwise (running from sources) `swarmArgv hook EVENT`.
 */
export function hookArgv(swarmArgv: readonly string[], event: 'pre-tool-use' | 'post-tool-use' | 'pre-commit'): string[] {
  const direct = import.meta.url.endsWith('.js') ? packagePath('dist', 'hooks', 'main.js') : undefined;
  if (direct !== undefined && existsSync(direct)) return [process.execPath, direct, event];
  return [...swarmArgv, 'hook', event];
}

/**
 * The `--settings` JSON for `claude -p`: with `guard`, a PreToolUse hook on every file-writing
 * tool that runs `swarm hook pre-tool-use`; with `messages`, a PostToolUse hook on every tool
 * that runs `swarm hook post-tool-use`, which hands the agent the messages sent to it (see
 * `hookArgv`). `swarmArgv` is how to start swarm, e.g. `[process.execPath,
 * '/abs/dist/cli/main.js']`. Passed on the command line, never written into the user's files.
 */
export function claudeSettingsJson(swarmArgv: readonly string[], opts: { guard?: boolean; messages?: boolean } = { guard: true }): string {
  const hook = (event: 'pre-tool-use' | 'post-tool-use') => ({
    type: 'command',
    command: hookArgv(swarmArgv, event).map(shellQuote).join(' '),
    timeout: 30,
  });
  const hooks: Record<string, unknown> = {};
  if (opts.guard) hooks.PreToolUse = [{ matcher: GUARDED_TOOLS, hooks: [hook('pre-tool-use')] }];
  if (opts.messages) hooks.PostToolUse = [{ matcher: '*', hooks: [hook('post-tool-use')] }];
  return JSON.stringify({ hooks });
}

/**
 * Every client-side hook git may run from `core.hooksPath`. Pointing hooksPath at the guard
 * dir hides the repository's own hooks, so each one gets a forwarder; pre-commit runs the
 * guard first.
 */
const CHAINED_HOOKS = [
  'applypatch-msg',
  'pre-applypatch',
  'post-applypatch',
  'pre-merge-commit',
  'prepare-commit-msg',
  'commit-msg',
  'post-commit',
  'pre-rebase',
  'post-checkout',
  'post-merge',
  'pre-push',
  'post-rewrite',
  'pre-auto-gc',
  'reference-transaction',
  'post-index-change',
  'sendemail-validate',
] as const;

function forwarder(name: string): string {
  return `#!/bin/sh
# Written by swarm: runs the repository's own ${name} hook, if any, for a swarm agent.
hook="$SWARM_ORIG_HOOKS_PATH/${name}"
if [ -n "$SWARM_ORIG_HOOKS_PATH" ] && [ -f "$hook" ] && [ -x "$hook" ]; then exec "$hook" "$@"; fi
exit 0
`;
}

/** Writes `<stateDir>/hooks/` (the guard's `core.hooksPath`) and returns its absolute path. */
export function ensureGuardHooksDir(stateDir: string, swarmArgv: readonly string[]): string {
  const dir = resolve(stateDir, 'hooks');
  mkdirSync(dir, { recursive: true });
  const swarm = hookArgv(swarmArgv, 'pre-commit').map(shellQuote).join(' ');
  writeExecutable(
    join(dir, 'pre-commit'),
    `#!/bin/sh
# Written by swarm: checks a swarm agent's staged files against its task's globs, then runs
# the repository's own pre-commit hook.
exec ${swarm} "$@"
`,
  );
  for (const name of CHAINED_HOOKS) writeExecutable(join(dir, name), forwarder(name));
  return dir;
}

/** Several runs may write the same dir at once: write aside and rename, so git never runs half a script. */
function writeExecutable(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
}
