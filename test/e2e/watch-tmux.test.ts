/**
 * `swarm watch` in a real tmux (our own server: TMUX_TMPDIR in a temp folder, so the test
 * never touches a user's sessions), on a live run whose command agents the test drives: a
 * pane per running agent appears, following its log, and goes when its task ends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reapOrphans } from '../../src/agents/orphans.js';
import { AgentRig } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo } from '../helpers/git-repo.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

const tmuxDir = mkdtempSync(join(tmpdir(), 'swarm-watch-tmux-'));
const tmuxEnv = { ...process.env, TMUX_TMPDIR: tmuxDir, TMUX: '' };
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8', env: tmuxEnv });

let rig: AgentRig;
beforeEach(async () => {
  rig = await AgentRig.start();
});
afterEach(() => rig.close());
afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    /* already gone */
  }
  rmSync(tmuxDir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** pane title -> pane id, in the session's window. */
function panes(session: string): Map<string, string> {
  try {
    const out = tmux('list-panes', '-t', `=${session}:`, '-F', '#{pane_title}\t#{pane_id}');
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t') as [string, string]),
    );
  } catch {
    return new Map();
  }
}

describe('swarm watch', { timeout: 90_000 }, () => {
  it.skipIf(!hasTmux)('opens a pane per running agent, following its log, and closes it when its task ends', async () => {
    const repo = tempRepo();
    writeFileSync(
      join(repo.dir, 'swarm.yaml'),
      [
        'version: 1',
        'name: watched',
        'concurrency: 2',
        'agent:',
        '  kind: command',
        '  sandbox: off',
        `  command: ${JSON.stringify(rig.command)}`,
        'tasks:',
        '  - { id: one, prompt: Do one., files: ["one/**"] }',
        '  - { id: two, prompt: Do two., files: ["two/**"] }',
      ].join('\n'),
    );
    repo.commitAll('swarm file');
    const run = swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath } }) as unknown as ResultPromise;
    try {
      const agents = [await rig.next(), await rig.next()];
      const one = agents.find((a) => a.hello.task === 'one')!;
      const two = agents.find((a) => a.hello.task === 'two')!;

      const watch = await swarm(['watch', '--no-attach'], { cwd: repo.dir, env: { TMUX_TMPDIR: tmuxDir, TMUX: '' } });
      expect(watch.exitCode, String(watch.stderr)).toBe(0);
      expect(String(watch.stdout)).toBe('swarm watch: tmux session swarm-watched is open; attach with: tmux attach -t swarm-watched');

      // The status pane, and one pane per running agent, each following its task's log.
      const both = await until('a pane for each agent', () => {
        const p = panes('swarm-watched');
        return p.has('one') && p.has('two') && p.has('status') ? p : undefined;
      }).catch((e: unknown) => {
        const p = panes('swarm-watched');
        throw new Error(`${String(e)}: panes ${JSON.stringify([...p])}: ${[...p.values()].map((id) => tmux('capture-pane', '-p', '-t', id)).join('\n----\n')}`);
      });
      expect(both.size).toBe(3);
      await until("one's log in its pane", () => (tmux('capture-pane', '-p', '-t', both.get('one')!).includes('── one · attempt 1') ? true : undefined));
      await one.write('one/x.txt', 'x\n');
      one.exit(0);
      await until("the agent's last line in one's pane", () =>
        tmux('capture-pane', '-p', '-t', both.get('one')!).includes('exiting with 0') ? true : undefined,
      );
      await until('the status pane', () => (tmux('capture-pane', '-p', '-t', both.get('status')!).includes('swarm watch · run watched') ? true : undefined));

      // one merged: its pane goes; two's stays.
      const after = await until("one's pane gone", () => {
        const p = panes('swarm-watched');
        return p.has('one') ? undefined : p;
      });
      expect([...after.keys()].sort()).toEqual(['status', 'two']);
      expect(tmux('capture-pane', '-p', '-t', both.get('status')!)).toMatch(/one\s+merged/);

      await two.write('two/x.txt', 'x\n');
      two.exit(0);
      expect((await run).exitCode).toBe(0);
      await until("two's pane gone", () => (panes('swarm-watched').has('two') ? undefined : true));

      // Again: the same session, not a second one.
      const again = await swarm(['watch', 'watched', '--no-attach'], { cwd: repo.dir, env: { TMUX_TMPDIR: tmuxDir, TMUX: '' } });
      expect(again.exitCode).toBe(0);
      expect(tmux('list-sessions', '-F', '#{session_name}').trim()).toBe('swarm-watched');
    } finally {
      if (run.exitCode === null) run.kill('SIGTERM');
      await run.catch(() => undefined);
      await reapOrphans(run.pid!, { graceMs: 1000 });
      repo.cleanup();
    }
  });

  it('without tmux, says so and names swarm logs --follow', async () => {
    const repo = tempRepo();
    // A PATH with git but no tmux.
    const bin = mkdtempSync(join(tmpdir(), 'swarm-no-tmux-'));
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
    writeFileSync(
      join(repo.dir, 'swarm.yaml'),
      [
        'version: 1',
        'name: plain',
        'agent: { kind: command, sandbox: off, command: ["true"] }',
        'tasks:',
        '  - { id: one, prompt: x, files: ["one/**"] }',
      ].join('\n'),
    );
    repo.commitAll('swarm file');
    await swarm(['run', '--ui', 'plain'], { cwd: repo.dir });
    const res = await swarm(['watch'], { cwd: repo.dir, env: { PATH: bin } });
    expect(res.exitCode).toBe(1);
    expect(String(res.stderr)).toBe(
      'swarm watch: tmux is not installed, and swarm watch opens its panes in tmux. Follow one task with: swarm logs --follow --run plain TASK',
    );
    rmSync(bin, { recursive: true, force: true });
    repo.cleanup();
  });
});
