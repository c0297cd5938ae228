import type { GitRunner } from './exec.js';

/** Used only when the user has no identity of their own, so a commit can still be made. */
export const FALLBACK_NAME = 'swarm';
export const FALLBACK_EMAIL = 'swarm@localhost';

/**
 * `-c user.name=...`/`-c user.email=...` for whichever half of an identity is missing. The
 * user's own identity (config, or GIT_AUTHOR_*+GIT_COMMITTER_* / EMAIL in the environment)
 * always wins; git's guess from the host name is not counted, since it often fails.
 */
export async function identityArgs(runner: GitRunner, cwd: string, env: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const all = { ...runner.env, ...env };
  const out = await runner.run(['config', '--get-regexp', '^user\\.(name|email)$'], { cwd, env });
  const keys = new Set(out.stdout.split('\n').map((line) => line.split(' ')[0]));
  const hasName = keys.has('user.name') || Boolean(all.GIT_AUTHOR_NAME && all.GIT_COMMITTER_NAME);
  const hasEmail = keys.has('user.email') || Boolean(all.GIT_AUTHOR_EMAIL && all.GIT_COMMITTER_EMAIL) || Boolean(all.EMAIL);
  const args: string[] = [];
  if (!hasName) args.push('-c', `user.name=${FALLBACK_NAME}`);
  if (!hasEmail) args.push('-c', `user.email=${FALLBACK_EMAIL}`);
  return args;
}
