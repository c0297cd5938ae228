import { execa } from 'execa';
import type { ShellPort, ShellResult } from '../engine/ports.js';

const KEEP_BYTES = 16 * 1024;
const GRACE_MS = 3000;

/**
 * Runs a user's shell command (setup, check) in its own process group, so a timeout or a
 * stop can kill everything it started: a test runner's workers included.
 */
export const shell: ShellPort = {
  async run({ command, cwd, env, timeoutMs, signal, onLine }) {
    const child = execa('sh', ['-c', command], {
      cwd,
      env: { ...env },
      extendEnv: false,
      detached: true,
      stdin: 'ignore',
      all: true,
      reject: false,
      buffer: false,
    });
    let tail = '';
    let partial = '';
    child.all?.setEncoding('utf8');
    child.all?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-KEEP_BYTES);
      if (onLine) {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
    });
    let timedOut = false;
    let cancelled = false;
    const killGroup = () => {
      const pid = child.pid;
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
          /* already gone */
        }
      }, GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      killGroup();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const result = await child;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    if (partial && onLine) onLine(partial);
    const out: ShellResult = {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      cancelled,
      output: tail,
    };
    return out;
  },
};
