import { shell } from '../util/shell.js';

/** How much of a failed check's output is kept: the end, where test runners print failures. */
export const OUTPUT_TAIL_BYTES = 4096;
/** The longest a timer can wait: merge.check has no timeout of its own. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

export interface CheckResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly cancelled: boolean;
  /** stdout and stderr interleaved, the last `OUTPUT_TAIL_BYTES`. */
  readonly output: string;
}

/**
 * Runs `merge.check`: the user's own shell command, in its own process group, so an abort
 * also stops what it spawned (the same runner as the tasks' checks).
 */
export async function runCheck(command: string, opts: { cwd: string; env: Readonly<Record<string, string>>; signal?: AbortSignal }): Promise<CheckResult> {
  const res = await shell.run({
    command,
    cwd: opts.cwd,
    env: opts.env,
    timeoutMs: NO_TIMEOUT_MS,
    signal: opts.signal ?? new AbortController().signal,
  });
  return { ok: !res.cancelled && res.exitCode === 0, exitCode: res.exitCode, cancelled: res.cancelled, output: res.output.slice(-OUTPUT_TAIL_BYTES) };
}
