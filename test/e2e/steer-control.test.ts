/**
 * `swarm stop`, `swarm retry` and `swarm msg` through the built CLI, from "another terminal"
 * (a second process), on a live run whose command agents the test drives step by step
 * (test/helpers/agent-rig.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reapOrphans } from '../../src/agents/orphans.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { AgentRig } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let rig: AgentRig;
const cleanups: (() => void | Promise<void>)[] = [];
beforeEach(async () => {
  rig = await AgentRig.start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rig.close();
});

function writeYaml(repo: TempRepo, tasks: { id: string; deps?: string[] }[]): void {
  writeFileSync(
    join(repo.dir, 'swarm.yaml'),
    [
      'version: 1',
      'name: steer',
      'concurrency: 2',
      'retries: 0',
      'agent:',
      '  kind: command',
      '  sandbox: off',
      `  command: ${JSON.stringify(rig.command)}`,
      'tasks:',
      ...tasks.map((t) => `  - { id: ${t.id}, prompt: Do ${t.id}., files: ["${t.id}/**"], depends_on: ${JSON.stringify(t.deps ?? [])} }`),
    ].join('\n'),
  );
  repo.commitAll('swarm file');
}

interface Live {
  readonly events: SwarmEvent[];
  readonly done: Promise<{ exitCode?: number; stderr: string }>;
  until(what: string, check: (e: SwarmEvent) => boolean): Promise<void>;
}

function start(repo: TempRepo): Live {
  const child = swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath } }) as unknown as ResultPromise;
  const events: SwarmEvent[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as SwarmEvent);
  });
  const done = child.then((r) => ({ exitCode: r.exitCode, stderr: String(r.stderr) }));
  cleanups.push(async () => {
    // A failed test must not leave swarm or its agents behind: SIGTERM stops it gracefully.
    if (child.exitCode === null) child.kill('SIGTERM');
    await done.catch(() => undefined);
    await reapOrphans(child.pid!, { graceMs: 1000 });
  });
  return {
    events,
    done,
    async until(what, check) {
      const deadline = Date.now() + 30_000;
      while (!events.some(check)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events.slice(-10))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

const stateOf = (e: SwarmEvent, task: string, to: string) => e.type === 'task' && e.task === task && e.to === to;

describe('steering a live run from another terminal', { timeout: 90_000 }, () => {
  it('swarm stop ends one task cancelled while the others merge; its message waits for its next prompt; a later run finishes it', async () => {
    const repo = tempRepo();
    cleanups.push(() => repo.cleanup());
    writeYaml(repo, [{ id: 'slow' }, { id: 'fast' }]);
    const run = start(repo);
    const agents = [await rig.next(), await rig.next()];
    const slow = agents.find((a) => a.hello.task === 'slow')!;
    const fast = agents.find((a) => a.hello.task === 'fast')!;

    expect(slow.hello.prompt).not.toContain('MSG-FOR-SLOW');
    // A command agent cannot be told anything while it runs: the message waits for its next prompt.
    const msg = await swarm(['msg', 'slow', 'MSG-FOR-SLOW: use tabs'], { cwd: repo.dir });
    expect(msg.exitCode, String(msg.stderr)).toBe(0);
    await run.until('the message event', (e) => e.type === 'message' && e.reason === 'sent' && e.task === 'slow');

    await fast.write('fast/done.txt', 'fast\n');
    fast.exit(0);
    await run.until('fast merged', (e) => stateOf(e, 'fast', 'merged'));

    // Neither a message nor a stop reaches a task that has ended.
    const late = await swarm(['msg', 'fast', 'too late'], { cwd: repo.dir });
    expect(late.exitCode).toBe(1);
    expect(String(late.stderr)).toBe('swarm msg: task fast is merged, not running or queued: it can take no message');
    const stopFast = await swarm(['stop', 'fast'], { cwd: repo.dir });
    expect(stopFast.exitCode).toBe(1);
    expect(String(stopFast.stderr)).toBe('swarm stop: refused: task fast has already ended (merged)');

    const stop = await swarm(['stop', 'slow'], { cwd: repo.dir });
    expect(stop.exitCode, String(stop.stderr)).toBe(0);
    expect(String(stop.stdout)).toMatch(/^swarm stop: task slow \(running\): its agent is being stopped; it stays resumable$/);
    const first = await run.done;
    // Stopped, not failed: the run is resumable (130), slow cancelled, fast merged.
    expect(first.exitCode, first.stderr).toBe(130);
    expect(run.events.filter((e) => e.type === 'task' && e.task === 'slow').map((e) => (e.type === 'task' ? e.to : ''))).toEqual([
      'ready',
      'starting',
      'running',
      'cancelled',
    ]);
    expect(run.events.find((e) => stateOf(e, 'slow', 'cancelled'))).toMatchObject({ detail: 'stopped by swarm stop' });
    expect(run.events.filter((e) => e.type === 'control')).toEqual([
      expect.objectContaining({ reason: 'stop', task: 'fast', done: false, detail: 'task fast has already ended (merged)' }),
      expect.objectContaining({ reason: 'stop', task: 'slow', done: true }),
    ]);
    expect(repo.git('show', 'swarm/steer:fast/done.txt')).toBe('fast');
    expect(rig.started).toEqual(expect.arrayContaining(['slow', 'fast']));
    expect(rig.started).toHaveLength(2);

    // No live run now: msg and stop say so.
    const none = await swarm(['stop', 'slow'], { cwd: repo.dir });
    expect(none.exitCode).toBe(1);
    expect(String(none.stderr)).toBe('swarm stop: no live run in this repository (start one with `swarm run`)');

    // A later run finishes slow, and its agent gets the message in its prompt.
    const again = start(repo);
    const resumed = await rig.next();
    expect(resumed.hello.task).toBe('slow');
    expect(resumed.hello.prompt).toContain('## Messages for you');
    expect(resumed.hello.prompt).toContain('MSG-FOR-SLOW: use tabs');
    await resumed.write('slow/done.txt', 'slow\n');
    resumed.exit(0);
    const second = await again.done;
    expect(second.exitCode, second.stderr).toBe(0);
    expect(repo.git('show', 'swarm/steer:slow/done.txt')).toBe('slow');
    expect(again.events).toContainEqual(expect.objectContaining({ type: 'message', reason: 'delivered', task: 'slow', how: 'prompt' }));
  });

  it('swarm retry runs a failed task again in the live run, and what it blocked runs after it', async () => {
    const repo = tempRepo();
    cleanups.push(() => repo.cleanup());
    writeYaml(repo, [{ id: 'flaky' }, { id: 'long' }, { id: 'after', deps: ['flaky'] }]);
    const run = start(repo);
    const agents = [await rig.next(), await rig.next()];
    const flaky = agents.find((a) => a.hello.task === 'flaky')!;
    const long = agents.find((a) => a.hello.task === 'long')!;

    flaky.exit(1);
    await run.until('flaky failed', (e) => stateOf(e, 'flaky', 'failed'));
    await run.until('after blocked', (e) => stateOf(e, 'after', 'blocked'));

    const busy = await swarm(['retry', 'long'], { cwd: repo.dir });
    expect(busy.exitCode).toBe(1);
    expect(String(busy.stderr)).toBe('swarm retry: refused: task long is running; only a failed, conflicted or stopped task can be retried');

    const retry = await swarm(['retry', 'flaky', '--run', 'steer'], { cwd: repo.dir });
    expect(retry.exitCode, String(retry.stderr)).toBe(0);
    expect(String(retry.stdout)).toBe('swarm retry: task flaky runs again (attempt 2)');
    const second = await rig.next();
    expect(second.hello.task).toBe('flaky');
    await second.write('flaky/ok.txt', 'ok\n');
    second.exit(0);
    const after = await rig.next();
    expect(after.hello.task).toBe('after');
    await after.write('after/ok.txt', 'ok\n');
    after.exit(0);
    await long.write('long/ok.txt', 'ok\n');
    long.exit(0);

    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    for (const id of ['flaky', 'after', 'long']) expect(repo.git('show', `swarm/steer:${id}/ok.txt`)).toBe('ok');
    expect(rig.started.filter((t) => t === 'flaky')).toHaveLength(2);
    expect(run.events.filter((e) => e.type === 'task' && e.task === 'after').map((e) => (e.type === 'task' ? e.to : ''))).toEqual([
      'blocked',
      'pending',
      'ready',
      'starting',
      'running',
      'queued',
      'merging',
      'merged',
    ]);
    expect(run.events.filter((e) => e.type === 'control')).toEqual([
      expect.objectContaining({ reason: 'retry', task: 'long', done: false }),
      expect.objectContaining({ reason: 'retry', task: 'flaky', done: true, detail: 'task flaky runs again (attempt 2)' }),
    ]);
  });
});
