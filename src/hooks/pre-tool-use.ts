import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { globMatcher } from './globs.js';
import type { Lease } from '../engine/ports.js';
import { readGuard, type Guard } from './guard-env.js';
import { otherLeases, recordViolations } from './violations.js';

/**
 * `swarm hook pre-tool-use`: Claude Code's PreToolUse hook for the tools that write files.
 * Input: the hook payload on stdin (`tool_name`, `tool_input.file_path` or
 * `.notebook_path`, `cwd`, ...). Output: nothing to allow, or a `deny` decision whose reason
 * tells the agent what it may edit instead. It never throws: whatever goes wrong denies,
 * with the error's text, because a broken guard must not wave writes through.
 */
export async function preToolUse(input: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const guard = readGuard(env);
    if (guard === undefined) return '';
    const verdict = await check(parsePayload(input), guard);
    if (verdict === undefined) return '';
    await recordViolations(guard, [verdict.path], 'hook');
    return guard.mode === 'block' ? deny(verdict.reason) : '';
  } catch (error) {
    return deny(`swarm's edit guard failed, so the edit was refused: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const WRITING_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);

interface Payload {
  readonly tool: string;
  readonly path?: string;
  readonly cwd?: string;
}

function parsePayload(input: string): Payload {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch (error) {
    throw new Error(`the hook input is not JSON (${(error as Error).message}): ${input.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null) throw new Error(`the hook input is not a JSON object: ${input.slice(0, 200)}`);
  const payload = value as { tool_name?: unknown; tool_input?: unknown; cwd?: unknown };
  if (typeof payload.tool_name !== 'string') throw new Error('the hook input has no tool_name');
  const toolInput = (typeof payload.tool_input === 'object' && payload.tool_input !== null ? payload.tool_input : {}) as Record<string, unknown>;
  const path = [toolInput.file_path, toolInput.notebook_path].find((p): p is string => typeof p === 'string' && p !== '');
  return {
    tool: payload.tool_name,
    ...(path !== undefined ? { path } : {}),
    ...(typeof payload.cwd === 'string' && payload.cwd !== '' ? { cwd: payload.cwd } : {}),
  };
}

interface Violation {
  readonly path: string;
  readonly reason: string;
}

async function check(payload: Payload, guard: Guard): Promise<Violation | undefined> {
  if (!WRITING_TOOLS.has(payload.tool)) return undefined;
  if (guard.worktree === undefined) throw new Error('SWARM_WORKTREE is not set');
  if (payload.path === undefined) throw new Error(`${payload.tool} was called without a file_path`);
  const owned = describeGlobs(guard.files);
  const worktree = realish(guard.worktree);
  const target = realish(resolve(payload.cwd ?? guard.worktree, payload.path));
  const rel = relative(worktree, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    return {
      path: target,
      reason:
        `swarm: ${target} is outside this task's worktree ${worktree}. ` +
        `Task ${guard.task ?? '?'} may only edit files inside it that match ${owned}; use paths under ${worktree}.`,
    };
  }
  const relPosix = rel.split(sep).join('/');
  const mine = globMatcher(guard.files)(relPosix);
  // Another holder's lease on the file: for a file outside this task's globs too, so the
  // refusal can name who owns it (the scheduler never runs two tasks whose globs overlap).
  // For a file that is not its own the refusal stands anyway: a lease that cannot be read then names no owner.
  const leases = mine ? await otherLeases(guard) : await otherLeases(guard).catch((): Lease[] => []);
  const holder = leases.find((l) => globMatcher(l.globs)(relPosix));
  if (!mine) {
    return {
      path: relPosix,
      reason:
        `swarm: ${relPosix} is not among the files task ${guard.task ?? '?'} owns. ` +
        `You may edit only ${owned} (relative to ${worktree}). Leave ${relPosix} as it is; ` +
        (holder === undefined ? 'if it must change, say so in your final message so that its owner can do it.' : askOwner(guard, holder, relPosix)),
    };
  }
  if (holder !== undefined) {
    const why = holder.reason ? ` (${holder.reason})` : '';
    return {
      path: relPosix,
      reason:
        `swarm: ${relPosix} is leased by ${holder.holder}${why} since ${new Date(holder.acquiredAt).toISOString()}, ` +
        `until ${new Date(holder.expiresAt).toISOString()}. Do not edit it; work on the other files you own (${owned}). ` +
        askOwner(guard, holder, relPosix),
    };
  }
  return undefined;
}

/** How to ask the file's owner for the change: a running task of this run takes a message. */
function askOwner(guard: Guard, holder: Lease, path: string): string {
  if (holder.run === undefined || holder.run !== guard.run || holder.task === undefined) {
    return `It is held by ${holder.holder}, not a task of this run; if it must change, say so in your final message.`;
  }
  return (
    `It belongs to task ${holder.task}, which is running now. If it must change, ask that task from your shell: ` +
    `swarm msg ${holder.task} "what ${path} needs and why"`
  );
}

function describeGlobs(globs: readonly string[]): string {
  return globs.length === 0 ? '(no files)' : globs.map((g) => JSON.stringify(g)).join(', ');
}

/**
 * The real path of `path`, even when it does not exist yet (a new file): the deepest existing
 * ancestor is resolved, so a symlink out of the worktree cannot hide where a write lands.
 */
function realish(path: string): string {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.push(basename(current));
      current = parent;
    }
  }
}

function deny(reason: string): string {
  return `${JSON.stringify({
    hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason },
  })}\n`;
}
