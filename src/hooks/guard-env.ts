import { isAbsolute } from 'node:path';
import { ENV, type GuardMode } from './env.js';

/** What a guard knows about the task it guards, read from the SWARM_* environment. */
export interface Guard {
  readonly stateDb?: string;
  readonly run?: string;
  readonly task?: string;
  readonly worktree?: string;
  readonly files: readonly string[];
  readonly leaseId?: number;
  readonly mode: GuardMode;
  /** Where violations go (a JSONL file the runner reads after the attempt). */
  readonly spool?: string;
}

/**
 * `undefined` when this process is not a swarm agent (no SWARM_ENFORCE, or it is `off`):
 * the guards then let everything through. Throws on a malformed value, which the hooks turn
 * into a refusal: a guard that cannot read its orders must not wave writes through.
 */
export function readGuard(env: NodeJS.ProcessEnv): Guard | undefined {
  const mode = env[ENV.enforce];
  if (mode === undefined || mode === '' || mode === 'off') return undefined;
  if (mode !== 'block' && mode !== 'warn') throw new Error(`${ENV.enforce} must be block, warn or off, not ${JSON.stringify(mode)}`);
  const files = parseFiles(env[ENV.files]);
  const worktree = env[ENV.worktree] || undefined;
  if (worktree !== undefined && !isAbsolute(worktree)) throw new Error(`${ENV.worktree} must be an absolute path, not ${worktree}`);
  const leaseText = env[ENV.leaseId];
  const leaseId = leaseText ? Number(leaseText) : undefined;
  if (leaseId !== undefined && !Number.isInteger(leaseId)) throw new Error(`${ENV.leaseId} must be a number, not ${leaseText}`);
  return {
    mode,
    files,
    ...(env[ENV.stateDb] ? { stateDb: env[ENV.stateDb] } : {}),
    ...(env[ENV.run] ? { run: env[ENV.run] } : {}),
    ...(env[ENV.task] ? { task: env[ENV.task] } : {}),
    ...(worktree !== undefined ? { worktree } : {}),
    ...(leaseId !== undefined ? { leaseId } : {}),
    ...(env[ENV.spool] ? { spool: env[ENV.spool] } : {}),
  };
}

function parseFiles(text: string | undefined): string[] {
  if (text === undefined || text === '') throw new Error(`${ENV.files} is not set`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${ENV.files} must be a JSON array of globs, not ${text}`);
  }
  if (!Array.isArray(value) || !value.every((g) => typeof g === 'string')) {
    throw new Error(`${ENV.files} must be a JSON array of globs, not ${text}`);
  }
  return value as string[];
}
