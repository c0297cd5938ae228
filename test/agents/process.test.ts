import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from '../../src/agents/process.js';
import { readStat } from '../../src/util/process-family.js';

const dir = mkdtempSync(join(tmpdir(), 'swarm-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** Gone, or a zombie waiting for a reaper (it runs nothing any more). */
function dead(pid: number): boolean {
  const stat = readStat(pid);
  return stat === undefined || stat.state === 'Z';
}

/**
 * A leader that starts a grandchild sleeping in the background, prints both pids and
 * then waits. `ignoreTerm` makes both ignore SIGTERM, so only SIGKILL ends them.
 */
function tree(ignoreTerm: boolean, leaderExits = false, ownSession = false): string[] {
  const trap = ignoreTerm ? "trap '' TERM; " : '';
  const tail = leaderExits ? 'exit 0' : 'wait';
  // setsid (as Claude Code's Bash tool does) puts the grandchild in a session and group of its own.
  const sleep = ownSession ? 'setsid sleep 300' : 'sleep 300';
  // With setsid, say the pids only once the grandchild has its own group (field 5 of
  // /proc/PID/stat), so the test never races setsid's own start.
  const settle = ownSession ? `n=0; while [ "$(cut -d' ' -f5 /proc/$g/stat 2>/dev/null)" != "$g" ] && [ $n -lt 5000 ]; do n=$((n+1)); done; ` : '';
  return ['-c', `${trap}${sleep} & g=$!; ${settle}echo "pids $$ $g"; ${tail}`];
}

function pidsFrom(lines: string[]): { leader: number; grandchild: number } {
  const line = lines.find((l) => l.startsWith('pids '));
  expect(line, 'the tree printed its pids').toBeDefined();
  const [, leader, grandchild] = line!.split(' ');
  return { leader: Number(leader), grandchild: Number(grandchild) };
}

describe('runProcess', () => {
  it('streams stdout lines, logs stdout and stderr as JSONL, and reports the exit code', async () => {
    const logFile = join(dir, 'logs', 'simple.jsonl');
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: ['-c', 'echo one; echo two; echo oops >&2; exit 3'],
      cwd: dir,
      env,
      logFile,
      onStdoutLine: (l) => lines.push(l),
    });
    expect(outcome).toMatchObject({ exitCode: 3, signal: null, timedOut: false, cancelled: false });
    expect(lines).toEqual(['one', 'two']);
    expect(outcome.stderrTail).toBe('oops');
    const logged = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => [l.stream, l.line])).toEqual(
      expect.arrayContaining([
        ['stdout', 'one'],
        ['stdout', 'two'],
        ['stderr', 'oops'],
      ]),
    );
    expect(logged.every((l) => typeof l.t === 'number')).toBe(true);
  });

  it('passes exactly the given environment and closes stdin', async () => {
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      // `read` fails at once on a closed stdin instead of waiting for input.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
      args: ['-c', 'echo "home=${HOME-unset} x=$X"; if read line; then echo got-input; else echo stdin-closed; fi'],
      cwd: dir,
      env: { ...env, X: 'y' },
      onStdoutLine: (l) => lines.push(l),
    });
    expect(outcome.exitCode).toBe(0);
    expect(lines).toEqual(['home=unset x=y', 'stdin-closed']);
  });

  it('writes JSON stdout lines to the log as they are when stdoutIsJsonl', async () => {
    const logFile = join(dir, 'jsonl.jsonl');
    await runProcess({
      file: 'sh',
      args: ['-c', `echo '{"type":"system","n":1}'; echo 'plain text'`],
      cwd: dir,
      env,
      logFile,
      stdoutIsJsonl: true,
    });
    const logged = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(logged[0]).toBe('{"type":"system","n":1}');
    expect(JSON.parse(logged[1]!)).toMatchObject({ stream: 'stdout', line: 'plain text' });
  });

  it('runs on when the log cannot be written', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: ['-c', 'echo fine'],
      cwd: dir,
      env,
      // A path under a regular file: no folder can be made there.
      logFile: join(dir, 'a-file', 'nested.jsonl'),
      onStdoutLine: (l) => lines.push(l),
    });
    expect(outcome.exitCode).toBe(0);
    expect(lines).toEqual(['fine']);
  });

  it('reports a missing program as a spawn error', async () => {
    const outcome = await runProcess({ file: join(dir, 'no-such-agent'), args: [], cwd: dir, env });
    expect(outcome.spawnError).toMatch(/ENOENT|no-such-agent/);
    expect(outcome.exitCode).toBeNull();
  });

  it('on timeout kills the whole process group, escalating to SIGKILL when SIGTERM is ignored', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const outcome = await runProcess({
      file: 'sh',
      args: tree(true),
      cwd: dir,
      env,
      timeoutMs: 400,
      graceMs: 300,
      onStdoutLine: (l) => lines.push(l),
    });
    const { leader, grandchild } = pidsFrom(lines);
    expect(outcome.timedOut).toBe(true);
    expect(outcome.signal).toBe('SIGKILL');
    expect(dead(leader)).toBe(true);
    expect(dead(grandchild)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('on abort sends SIGTERM to the group: leader and grandchild both end', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: tree(false),
      cwd: dir,
      env,
      signal: controller.signal,
      graceMs: 5000,
      onStdoutLine: (l) => {
        lines.push(l);
        if (l.startsWith('pids ')) controller.abort();
      },
    });
    const { leader, grandchild } = pidsFrom(lines);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.timedOut).toBe(false);
    expect(outcome.signal).toBe('SIGTERM');
    expect(dead(leader)).toBe(true);
    expect(dead(grandchild)).toBe(true);
  });

  it('leaves nothing behind when the leader exits on its own', async () => {
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: tree(false, true),
      cwd: dir,
      env,
      graceMs: 2000,
      onStdoutLine: (l) => lines.push(l),
    });
    const { grandchild } = pidsFrom(lines);
    expect(outcome.exitCode).toBe(0);
    expect(dead(grandchild)).toBe(true);
  });

  it('finds a grandchild that left the group with setsid, even after the leader is gone', async () => {
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: tree(false, true, true),
      cwd: dir,
      env,
      graceMs: 2000,
      onStdoutLine: (l) => lines.push(l),
    });
    const { leader, grandchild } = pidsFrom(lines);
    expect(outcome.exitCode).toBe(0);
    expect(readStat(grandchild)?.pgrp ?? grandchild, 'the grandchild led its own group').toBe(grandchild);
    expect(leader).not.toBe(grandchild);
    expect(dead(grandchild)).toBe(true);
  });

  it('does not start at all when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const lines: string[] = [];
    const outcome = await runProcess({
      file: 'sh',
      args: ['-c', 'echo ran'],
      cwd: dir,
      env,
      signal: controller.signal,
      onStdoutLine: (l) => lines.push(l),
    });
    expect(outcome.cancelled).toBe(true);
    expect(lines).toEqual([]);
  });
});
