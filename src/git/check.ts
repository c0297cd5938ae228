import { execa } from 'execa';

/** How much of a failed check's output is kept: the end, where test runners print failures. */
export const OUTPUT_TAIL_BYTES = 4096;
const KILL_GRACE_MS = 3000;

export interface CheckResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly cancelled: boolean;
  /** stdout and stderr interleaved, the last `OUTPUT_TAIL_BYTES`. */
  readonly output: string;
}

/**
 * Runs `merge.check`. It is the user's own shell command from swarm.yaml, so it goes
 * through `sh -c`. It gets its own process group: an abort must also stop what it spawned
 * (a test runner's workers), SIGTERM first and SIGKILL after a grace period.
 */
export async function runCheck(
  command: string,
  opts: { cwd: string; env: Readonly<Record<string, string>>; signal?: AbortSignal },
): Promise<CheckResult> {
  const child = execa('sh', ['-c', command], {
    cwd: opts.cwd,
    env: { ...opts.env },
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
  });
  let tail = '';
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-OUTPUT_TAIL_BYTES);
  });
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    killGroup(child.pid);
  };
  const signal = opts.signal;
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const result = await child;
  signal?.removeEventListener('abort', onAbort);
  const exitCode = result.exitCode ?? null;
  return { ok: !cancelled && exitCode === 0, exitCode, cancelled, output: tail };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, KILL_GRACE_MS).unref();
}
