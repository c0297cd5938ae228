import type { CrashPoint } from '../engine/run-context.js';

/**
 * Test-only: `SWARM_TEST_CRASH_AT=merge:landed` makes the runner SIGKILL itself at that
 * point of its first merge, so a test can prove recovery from every window of a merge.
 * The variable's name says it is for tests; no user sets it by accident, and without it
 * this is undefined and the engine calls nothing.
 */
export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): ((name: CrashPoint) => void) | undefined {
  const at = env.SWARM_TEST_CRASH_AT;
  if (at === undefined || at === '') return undefined;
  return (name) => {
    if (name === at) process.kill(process.pid, 'SIGKILL');
  };
}
