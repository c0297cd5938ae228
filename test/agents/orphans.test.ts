import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { orphansOf, reapOrphans } from '../../src/agents/orphans.js';
import { TAG_VAR } from '../../src/util/process-family.js';
import { processAlive } from '../../src/util/process-identity.js';
import { shell } from '../../src/util/shell.js';

const children: ChildProcess[] = [];
const root = realpathSync(mkdtempSync(join(tmpdir(), 'swarm-orphans-')));
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A sleeping process tagged as started by `runner`, working in `cwd`. */
function tagged(runner: number, cwd: string): ChildProcess {
  mkdirSync(cwd, { recursive: true });
  const child = spawn('sleep', ['300'], { cwd, env: { PATH: process.env.PATH, [TAG_VAR]: `${runner}-test` }, stdio: 'ignore' });
  children.push(child);
  return child;
}

describe.skipIf(process.platform !== 'linux')('orphans of a crashed runner', () => {
  it("are found by their tag, but only inside the run's worktrees: a reused pid never reaches another run", async () => {
    const runner = 999_999; // no such pid: a runner long gone
    const ours = tagged(runner, join(root, 'repo-a', '.swarm', 'worktrees', 'r', 'task'));
    const theirs = tagged(runner, join(root, 'repo-b', '.swarm', 'worktrees', 'r', 'task'));
    const within = join(root, 'repo-a', '.swarm', 'worktrees', 'r');
    expect(orphansOf(runner).sort()).toEqual([ours.pid, theirs.pid].sort());
    expect(orphansOf(runner, within)).toEqual([ours.pid]);
    const gone = new Promise((resolve) => ours.once('exit', resolve));
    expect(await reapOrphans(runner, { within, graceMs: 1000 })).toBe(1);
    await gone;
    expect(theirs.exitCode).toBeNull();
    expect(orphansOf(runner, join(root, 'repo-b'))).toEqual([theirs.pid]);
  });
});

describe.skipIf(process.platform !== 'linux')('a check a crashed runner left running', () => {
  it("carries the runner's tag, so it is found and stopped like an orphaned agent", async () => {
    const within = join(root, 'repo-c', '.swarm', 'worktrees', 'r');
    const cwd = join(within, 'task');
    mkdirSync(cwd, { recursive: true });
    const never = new AbortController();
    // This test process plays the runner: the check is tagged with its pid.
    const running = shell.run({
      command: 'sleep 300 & setsid sleep 300 & wait',
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 60_000,
      signal: never.signal,
    });
    let found: number[] = [];
    for (let i = 0; i < 100 && found.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      found = orphansOf(process.pid, within);
    }
    // sh, its sleep, and the sleep that left the process group with setsid.
    expect(found).toHaveLength(3);
    expect(await reapOrphans(process.pid, { within, graceMs: 1000 })).toBe(3);
    expect(orphansOf(process.pid, within)).toEqual([]);
    expect((await running).exitCode).not.toBe(0);
  });

  it('a timeout stops the whole check, including what left its process group', async () => {
    const cwd = join(root, 'repo-d');
    mkdirSync(cwd, { recursive: true });
    const result = await shell.run({
      command: `setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' & sleep 300`,
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 500,
      signal: new AbortController().signal,
    });
    expect(result.timedOut).toBe(true);
    const escaped = Number(readFileSync(join(cwd, 'escaped.pid'), 'utf8'));
    expect(escaped).toBeGreaterThan(0);
    expect(processAlive(escaped)).toBe(false);
  });
});

process.on('exit', () => rmSync(root, { recursive: true, force: true }));
