import type { Readable } from 'node:stream';
import { execa, type Options, type Result } from 'execa';
import { fileURLToPath } from 'node:url';
import { GIT_ENV } from './git-repo.js';

/** The built CLI; `npm test` builds before vitest runs. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A running `swarm`: await it for the result, or read its output as it comes. */
export type SwarmProcess = Promise<Result> & { readonly stdout: Readable | null; readonly pid?: number };

/** Runs the built `swarm` CLI as a real child process. Never throws on a non-zero exit. */
export function swarm(args: readonly string[], options: Options = {}): SwarmProcess {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    stdin: 'ignore',
    ...options,
    // Tests run inside GitHub Actions too: a swarm there would fold its output and write to the job's summary.
    env: { CI: '1', NO_COLOR: '1', GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '', GITHUB_OUTPUT: '', ...GIT_ENV, ...(options.env ?? {}) },
  }) as unknown as SwarmProcess;
}
