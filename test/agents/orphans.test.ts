import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { orphansOf, reapOrphans } from '../../src/agents/orphans.js';
import { TAG_VAR } from '../../src/agents/process.js';

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
  it('are found by their tag, but only inside the run\'s worktrees: a reused pid never reaches another run', async () => {
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

process.on('exit', () => rmSync(root, { recursive: true, force: true }));
