import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processAlive, processStart } from '../../src/util/process-identity.js';

describe.runIf(process.platform === 'linux')('process identity (Linux /proc)', () => {
  it('tells this process from a later one with the same pid by its start time', async () => {
    const mine = processStart(process.pid);
    expect(mine).toMatch(/^[0-9a-f-]+:\d+$/);
    expect(processStart(process.pid)).toBe(mine);
    expect(processAlive(process.pid, mine)).toBe(true);
    expect(processAlive(process.pid)).toBe(true);
    // The same pid recorded with another start time is some earlier process, long gone.
    expect(processAlive(process.pid, 'another-boot:1')).toBe(false);

    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const start = processStart(child.pid!);
    expect(start).toBeDefined();
    expect(start).not.toBe(mine);
    expect(processAlive(child.pid!, start)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(processAlive(child.pid!, start)).toBe(false);
    expect(processStart(2 ** 30)).toBeUndefined();
    expect(processAlive(2 ** 30)).toBe(false);
  });
});
