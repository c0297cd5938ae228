import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { globMatcher } from './globs.js';
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
  if (!globMatcher(guard.files)(relPosix)) {
    return {
      path: relPosix,
      reason:
        `swarm: ${relPosix} is not among the files task ${guard.task ?? '?'} owns. ` +
        `You may edit only ${owned} (relative to ${worktree}). Leave ${relPosix} as it is; ` +
        'if it must change, say so in your final message so that its owner can do it.',
    };
  }
  for (const lease of await otherLeases(guard)) {
    if (!globMatcher(lease.globs)(relPosix)) continue;
    const why = lease.reason ? ` (${lease.reason})` : '';
    return {
      path: relPosix,
      reason:
        `swarm: ${relPosix} is leased by ${lease.holder}${why} since ${new Date(lease.acquiredAt).toISOString()}, ` +
        `until ${new Date(lease.expiresAt).toISOString()}. Do not edit it; work on the other files you own (${owned}).`,
    };
  }
  return undefined;
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
