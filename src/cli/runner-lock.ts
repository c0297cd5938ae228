import type { RunnerClaim } from '../engine/ports.js';
import { HOST, type SqliteStore } from '../store/index.js';
import { processAlive, processStart } from '../util/process-identity.js';
import { err, ok, type Result } from '../util/result.js';

/**
 * Makes this process the one that may touch the run's branches and worktrees (`swarm run`,
 * `--fresh`, `clean`), before any git work. Claimed in one SQLite transaction, so of two
 * commands started together exactly one gets it; the other is told who holds it. A claim
 * whose process is gone (crashed, SIGKILLed) is taken over. A claim from another host is
 * taken over too: state.db lives on this machine's disk, so another host name means this
 * machine renamed (a CI container), not a second machine working on the same files.
 *
 * Returns the release, which the caller runs when it is done (a crash leaves the row, and
 * the next claim sees its process gone).
 */
export function claimRun(store: SqliteStore, run: string, what: string): Result<() => void, string> {
  const pidStart = processStart(process.pid);
  const me: RunnerClaim = { pid: process.pid, ...(pidStart === undefined ? {} : { pidStart }), host: HOST, startedAt: Date.now() };
  const claimed = store.claimRunner(run, me, (holder) => holder.host === HOST && processAlive(holder.pid, holder.pidStart));
  if (!claimed.ok) {
    const h = claimed.holder;
    return err(
      `the run "${run}" is being worked on by another swarm process (pid ${h.pid} on ${h.host}, since ${new Date(h.startedAt).toISOString()}); ` +
        `${what} would race it. Wait for it to end, or stop it first (q or Ctrl-C in its terminal, or \`kill ${h.pid}\`)`,
    );
  }
  return ok(() => store.releaseRunner(run, me.pid, me.host));
}
