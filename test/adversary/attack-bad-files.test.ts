import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('a swarm file that is not a regular file', () => {
  it('a named pipe or /dev/zero is refused with exit 2 and one line, never read forever', async () => {
    a = arena();
    const fifo = `${a.scratch}/swarm.yaml`;
    execFileSync('mkfifo', [fifo]);
    const cases = [
      [fifo, `${fifo} is a named pipe (FIFO), not a regular file`],
      ['/dev/zero', '/dev/zero is a device, not a regular file'],
    ] as const;
    for (const [file, message] of cases) {
      for (const command of ['validate', 'plan', 'run']) {
        // Killed after 3 s: a hang shows as a missing exit code, not as a stuck test.
        const result = await swarm([command, file], { cwd: a.repo.dir, timeout: 3_000 });
        expect(result.exitCode, `${command} ${file}`).toBe(2);
        expect(String(result.stderr), `${command} ${file}`).toContain(message);
        expect(String(result.stderr)).not.toMatch(/\n\s+at /);
      }
    }
  }, 30_000);
});
