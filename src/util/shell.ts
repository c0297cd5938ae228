import { execa } from 'execa';
import type { ShellPort, ShellResult } from '../engine/ports.js';
import { stripAnsi } from './ansi.js';
import { newTag, TAG_VAR, terminateFamily } from './process-family.js';

const KEEP_BYTES = 16 * 1024;
const GRACE_MS = 3000;

/**
 * Runs a user's shell command (setup, check) in its own process group, tagged, so a
 * timeout or a stop can kill everything it started: a test runner's workers included.
 */
export const shell: ShellPort = {
  async run({ command, cwd, env, timeoutMs, signal, onLine }) {
    // Tagged like an agent, so a crashed runner's checks are found and stopped on resume.
    const tag = newTag();
    const child = execa('sh', ['-c', command], {
      cwd,
      env: { ...env, [TAG_VAR]: tag },
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
    const pid = child.pid;
    let stopping: Promise<void> | undefined;
    const stop = (): void => {
      if (pid !== undefined) stopping ??= terminateFamily({ pgid: pid, tag }, GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const result = await child;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    // A stop (timeout, abort) waits until the whole family is gone. What a command that
    // exited by itself left in the background is its own business (a setup may start a
    // server on purpose); a crashed runner's, though, are reaped on resume by their tag.
    await stopping;
    if (partial && onLine) onLine(partial);
    const out: ShellResult = {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      cancelled,
      // Colour codes would go into a retry prompt and the events as noise; the log keeps them.
      output: stripAnsi(tail),
    };
    return out;
  },
};
