/**
 * The agent sandbox: bubblewrap with the whole filesystem read-only and writable only what
 * one task's agent needs (see `writablePaths`). No namespace but the mount one (and the user
 * one bwrap may need for it) is unshared: the network stays (agents talk to their model, tests
 * to stand-ins on 127.0.0.1), and so do pids, so the runner's process-group kill and the
 * tag search for orphans (src/agents/orphans.ts) see the agent's processes as they are.
 * Not `--die-with-parent`: an agent outlives a crashed runner as it does unsandboxed, and the
 * next runner stops it and commits its work (its tag says whose it is), still confined.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AgentKind } from '../config/spec.js';
import { err, ok, type Result } from '../util/result.js';

/** Whether bubblewrap can confine a process here; the reason when it cannot. */
export function probeBwrap(bin = 'bwrap', timeoutMs = 10_000): Promise<Result<void, string>> {
  return new Promise((done) => {
    execFile(bin, ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', 'true'], { timeout: timeoutMs }, (error, _out, stderr) => {
      if (!error) return done(ok(undefined));
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return done(err(`${bin} (bubblewrap) is not installed`));
      const why = String(stderr).trim().split('\n').pop() || error.message;
      done(err(`${bin} (bubblewrap) does not work here: ${why}`));
    });
  });
}

/** Where one task's agent runs, as far as the sandbox needs to know. */
export interface SandboxTarget {
  readonly run: string;
  readonly task: string;
  readonly kind: AgentKind;
  /** Absolute path of the task's worktree. */
  readonly worktree: string;
  /** The agent's environment (CLAUDE_CONFIG_DIR, CODEX_HOME, HOME, SWARM_SPOOL are read). */
  readonly env: Readonly<Record<string, string>>;
}

export interface SandboxLayout {
  /** The repository's git common dir (`.git` of the main worktree), absolute. */
  readonly commonDir: string;
  /** `.swarm/`, absolute: the private temp folders live in `.swarm/tmp/<run>/<task>`. */
  readonly stateDir: string;
}

/**
 * What the agent of `target` may write. Found by running `git commit` in a sandbox that
 * allowed less: the object store, the worktree's own admin dir (HEAD, index, its reflog), the
 * folder holding the run's task branch refs (git writes `<ref>.lock` next to the ref and
 * renames it) and its reflog folder. Not packed-refs (a plain commit writes a loose ref), not
 * `refs/heads/swarm/<run>` (the integration branch), not config, hooks or info.
 */
export function writablePaths(target: SandboxTarget, layout: SandboxLayout): { dirs: string[]; files: string[]; tmp: string; readOnly: string[] } {
  const git = layout.commonDir;
  const tmp = join(layout.stateDir, 'tmp', target.run, target.task);
  const dirs = [
    target.worktree,
    join(git, 'objects'),
    join(git, 'refs', 'heads', 'swarm-task', target.run),
    join(git, 'logs', 'refs', 'heads', 'swarm-task', target.run),
    tmp,
  ];
  const admin = worktreeAdminDir(target.worktree);
  if (admin !== undefined) dirs.push(admin);
  // Inside what is writable, what must not be: the pointers that say which repository the
  // worktree belongs to (rewritten, the runner's own git calls there — commit, audit — would
  // read a fake repository the agent made), and objects/info (alternates).
  const readOnly = [join(target.worktree, '.git'), join(git, 'objects', 'info')];
  if (admin !== undefined) readOnly.push(join(admin, 'commondir'), join(admin, 'gitdir'));
  const files: string[] = [];
  const home = target.env.HOME || homedir();
  switch (target.kind) {
    case 'claude':
      dirs.push(target.env.CLAUDE_CONFIG_DIR || join(home, '.claude'));
      // Claude Code keeps its settings and login state in ~/.claude.json, beside the folder.
      // Only an existing one: an empty file made here would not be valid JSON to it.
      if (!target.env.CLAUDE_CONFIG_DIR && existsSync(join(home, '.claude.json'))) files.push(join(home, '.claude.json'));
      break;
    case 'codex':
      dirs.push(target.env.CODEX_HOME || join(home, '.codex'));
      break;
    case 'command':
      break;
  }
  const spool = target.env.SWARM_SPOOL;
  if (spool) files.push(spool);
  // Where `swarm msg`/`swarm note` from the agent's shell and the message hook's receipts go.
  const outbox = target.env.SWARM_OUTBOX;
  if (outbox) files.push(outbox);
  return { dirs, files, tmp, readOnly: readOnly.filter((p) => existsSync(p)) };
}

/**
 * Given to `codex exec` inside our sandbox, where codex's own (bubblewrap) sandbox nests:
 * its workspace-write mode makes /tmp writable by default, and so makes a read-only mount
 * target /tmp/.git (registered under /tmp/codex-bwrap-synthetic-mount-targets-<uid>), which
 * it cannot create on our read-only /tmp. TMPDIR (the task's private temp folder) stays
 * writable to it.
 */
export const CODEX_IN_SANDBOX_ARGS: readonly string[] = ['-c', 'sandbox_workspace_write.exclude_slash_tmp=true'];

/** `gitdir: <path>` from a linked worktree's `.git` file: its private admin dir. */
function worktreeAdminDir(worktree: string): string | undefined {
  try {
    const text = readFileSync(join(worktree, '.git'), 'utf8');
    const match = /^gitdir: (.+)$/m.exec(text);
    if (!match?.[1]) return undefined;
    const dir = match[1].trim();
    return isAbsolute(dir) ? dir : resolve(worktree, dir);
  } catch {
    return undefined;
  }
}

/**
 * The argv that runs `file args` confined for `target`, and the environment to run it with
 * (TMPDIR pointing at the task's private temp folder). Makes the writable folders and files
 * that do not exist yet (a bind needs its source), and empties the temp folder.
 */
export function bwrapCommand(
  bin: string,
  target: SandboxTarget,
  layout: SandboxLayout,
  command: { readonly file: string; readonly args: readonly string[] },
): { file: string; args: string[]; env: Record<string, string> } {
  const { dirs, files, tmp, readOnly } = writablePaths(target, layout);
  rmSync(tmp, { recursive: true, force: true });
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    args.push('--bind', dir, dir);
  }
  for (const file of files) {
    if (!existsSync(file)) {
      mkdirSync(resolve(file, '..'), { recursive: true });
      closeSync(openSync(file, 'a'));
    }
    args.push('--bind', file, file);
  }
  // Later mounts cover earlier ones: these stay read-only inside the writable folders.
  for (const path of readOnly) args.push('--ro-bind', path, path);
  args.push('--chdir', target.worktree, '--', command.file, ...command.args);
  return { file: bin, args, env: { ...target.env, TMPDIR: tmp } };
}
