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

  it('swarm clean with a run name git would refuse is bad input (exit 2, the rule), not an internal error', async () => {
    a = arena();
    a.spec(['version: 1', 'name: ok', 'agent:', '  kind: command', '  command: ["true"]', 'tasks:', '  - id: a', '    prompt: Do a.', '    files: ["a.txt"]']);
    expect((await a.run()).exitCode).toBe(0);
    const branches = a.repo.git('branch', '--list');
    for (const name of ['..', '../..', 'x.lock', 'Upper']) {
      const result = await swarm(['clean', name, '--force'], { cwd: a.repo.dir, timeout: 10_000 });
      expect(result.exitCode, name).toBe(2);
      expect(String(result.stderr)).toBe(
        `swarm clean: ${JSON.stringify(name)} is not a valid run name: expected lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters, with no ".." and not ending in "." or ".lock" (git refuses those in branch names)`,
      );
    }
    expect(a.repo.git('branch', '--list')).toBe(branches);
  }, 30_000);
});
