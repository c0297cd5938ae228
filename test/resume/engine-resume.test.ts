import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/config/spec.js';
import { Engine } from '../../src/engine/engine.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import type { RunRecord, TaskRecord } from '../../src/engine/ports.js';
import { RateLimiter } from '../../src/engine/rate-limit.js';
import { taskHash } from '../../src/engine/resume.js';
import type { TaskState } from '../../src/engine/task-state.js';
import { processStart } from '../../src/util/process-identity.js';
import { agent, clock, FakeGit, FakeShell, GatedRunner, graphOf, makeSpec, makeTask, MemoryStore, MemoryLogs } from '../engine/fakes.js';

/** MemoryStore that remembers which runs' leases recovery released. */
class RecoveringStore extends MemoryStore {
  released: string[] = [];
  override releaseRunLeases(run: string): number {
    this.released.push(run);
    return super.releaseRunLeases(run);
  }
}

const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process

function engineFor(spec: Spec, store: MemoryStore, git: FakeGit, runner: GatedRunner, reaped: number[] = []) {
  const events: SwarmEvent[] = [];
  const engine = new Engine({
    spec,
    graph: graphOf(spec),
    store,
    git,
    shell: new FakeShell(),
    agents: new Map([
      ['command', runner],
      ['claude', runner],
    ]),
    clock,
    concurrency: 4,
    logs: new MemoryLogs(),
    env: {},
    host: 'here',
    reapOrphans: async (pid) => {
      reaped.push(pid);
      return 0;
    },
  });
  engine.on((e) => events.push(e));
  const states = (id: string) => events.filter((e) => e.type === 'task' && e.task === id).map((e) => (e.type === 'task' ? e.to : ''));
  const logs = () => events.filter((e): e is Extract<SwarmEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
  return { engine, events, states, logs };
}

/** A store holding a run that a crashed runner left: status running, a dead pid, tasks where they were. */
function crashedRun(spec: Spec, tasks: Record<string, Partial<TaskRecord> & { state: TaskState }>, runner: Partial<RunRecord> = {}): RecoveringStore {
  const store = new RecoveringStore();
  const run: RunRecord = {
    name: spec.name,
    file: spec.file,
    into: spec.into,
    baseSha: 'base0000',
    status: 'running',
    pid: DEAD_PID,
    host: 'here',
    startedAt: 1,
    costUsd: 0,
    ...runner,
  };
  store.runs.set(spec.name, run);
  for (const t of spec.tasks) {
    const rec = tasks[t.id] ?? { state: 'pending' };
    store.tasks.set(`${spec.name}/${t.id}`, { run: spec.name, task: t.id, hash: taskHash(spec, t), attempts: 0, costUsd: 0, turns: 0, ...rec });
  }
  store.leases.set(99, {
    id: 99,
    holder: `${spec.name}/a`,
    run: spec.name,
    task: 'a',
    globs: ['src/a/**'],
    pid: DEAD_PID,
    host: 'here',
    acquiredAt: 0,
    renewedAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    token: 1,
  });
  return store;
}

describe('engine: resuming a run', () => {
  it('re-runs a task whose definition changed, with everything downstream; the rest stays merged', async () => {
    const tasks = [makeTask('a'), makeTask('b', { dependsOn: ['a'] }), makeTask('c')];
    const store = new RecoveringStore();
    const git = new FakeGit();
    const first = new GatedRunner(git);
    const one = engineFor(makeSpec(tasks), store, git, first);
    const done1 = one.engine.run();
    for (let i = 0; i < 3; i++) (await first.next()).finish();
    expect(await done1).toMatchObject({ ok: true, value: { outcome: 'success', merged: 3 } });

    const changed = makeSpec([makeTask('a', { prompt: 'do a, differently' }), tasks[1]!, tasks[2]!]);
    const second = new GatedRunner(git);
    const two = engineFor(changed, store, git, second);
    const done2 = two.engine.run();
    (await second.next()).finish();
    (await second.next()).finish();
    expect(await done2).toMatchObject({ ok: true, value: { outcome: 'success', merged: 3 } });
    expect(second.calls.map((c) => c.input.task.id)).toEqual(['a', 'b']);
    expect(two.states('c')).toEqual([]);
    expect(two.logs()).toContain('task a changed since it ran: it runs again, with everything downstream of it');
  });

  it('a finished run run again with no change does nothing and says so', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b')]);
    const store = new RecoveringStore();
    const git = new FakeGit();
    const runner = new GatedRunner(git);
    const done = engineFor(spec, store, git, runner).engine.run();
    (await runner.next()).finish();
    (await runner.next()).finish();
    await done;
    const again = engineFor(spec, store, git, runner);
    expect(await again.engine.run()).toMatchObject({ ok: true, value: { outcome: 'success', merged: 2, total: 2 } });
    expect(runner.calls).toHaveLength(2);
    expect(again.logs()).toContain('nothing to do: all 2 tasks merged on swarm/test');
    expect(git.merges).toEqual(['a', 'b'].sort());
  });

  it("after a crash: releases the run's leases, reaps orphans, resumes the claude session with a short prompt", async () => {
    const spec = makeSpec([makeTask('a', { agent: agent({ kind: 'claude' }) })]);
    const store = crashedRun(spec, { a: { state: 'running', attempts: 1, sessionId: 'sess-1', branch: 'swarm/test/a', startSha: 'swarm/test@0' } });
    const git = new FakeGit();
    const runner = new GatedRunner(git);
    const reaped: number[] = [];
    const { engine, logs } = engineFor(spec, store, git, runner, reaped);
    const done = engine.run();
    const call = await runner.next();
    expect(store.released).toEqual(['test']);
    expect(reaped).toEqual([DEAD_PID]);
    expect(call.input.resumeSession).toBe('sess-1');
    expect(call.input.attempt).toBe(2);
    expect(call.input.prompt).toContain('You were interrupted');
    expect(call.input.prompt).not.toContain('## Your task');
    call.finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'success' } });
    expect(logs().some((m) => m.includes('was interrupted'))).toBe(true);
  });

  it.runIf(process.platform === 'linux')("a live process that reused the crashed runner's pid is not taken for the runner", async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(other, 'spawn');
    try {
      const spec = makeSpec([makeTask('a')]);
      const realStart = processStart(other.pid!)!;
      // Recorded with that pid's real start time: the runner is alive, and swarm refuses.
      const live = crashedRun(spec, { a: { state: 'running', attempts: 1 } }, { pid: other.pid!, pidStart: realStart });
      const refused = await engineFor(spec, live, new FakeGit(), new GatedRunner(new FakeGit())).engine.run();
      expect(refused).toEqual({ ok: false, error: `the run "test" is already running (pid ${other.pid}); wait for it or stop it first` });

      // Recorded with another start time: that runner is gone, and a later process has its pid.
      const reused = crashedRun(spec, { a: { state: 'running', attempts: 1 } }, { pid: other.pid!, pidStart: 'another-boot:1' });
      const git = new FakeGit();
      const runner = new GatedRunner(git);
      const reaped: number[] = [];
      const { engine, logs } = engineFor(spec, reused, git, runner, reaped);
      const done = engine.run();
      (await runner.next()).finish();
      expect(await done).toMatchObject({ ok: true, value: { outcome: 'success' } });
      expect(reaped).toEqual([other.pid]);
      expect(logs().some((m) => m.includes('was interrupted'))).toBe(true);
      // The resumed run records its own runner, not the crashed one's start time.
      expect(reused.runs.get('test')).toMatchObject({ pid: process.pid, pidStart: processStart(process.pid) });
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('after a crash: a queued task goes straight to the merge queue without its agent', async () => {
    const spec = makeSpec([makeTask('a')]);
    const store = crashedRun(spec, { a: { state: 'queued', attempts: 1, branch: 'swarm/test/a', startSha: 'swarm/test@0' } });
    const git = new FakeGit();
    git.branches.set('swarm/test/a', new Set(['src/a/a.ts']));
    const runner = new GatedRunner(git);
    const { engine, states } = engineFor(spec, store, git, runner);
    expect(await engine.run()).toMatchObject({ ok: true, value: { outcome: 'success', merged: 1 } });
    expect(runner.calls).toHaveLength(0);
    expect(states('a')).toEqual(['ready', 'starting', 'queued', 'merging', 'merged']);
    expect(git.merges).toEqual(['a']);
    expect([...git.branches.get('swarm/test')!]).toEqual(['src/a/a.ts']);
  });

  it('after a crash: a task left merging whose work is on the integration branch is recorded merged, never merged twice', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b', { dependsOn: ['a'] })]);
    const store = crashedRun(spec, { a: { state: 'merging', attempts: 1, branch: 'swarm/test/a', startSha: 'swarm/test@0' } });
    const git = new FakeGit();
    git.merges.push('a');
    const runner = new GatedRunner(git);
    const { engine, states, logs } = engineFor(spec, store, git, runner);
    const done = engine.run();
    const b = await runner.next();
    expect(b.input.task.id).toBe('b');
    b.finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'success', merged: 2 } });
    expect(git.merges).toEqual(['a', 'b']);
    expect(states('a')).toEqual([]);
    expect(store.getTasks('test').find((t) => t.task === 'a')!.state).toBe('merged');
    expect(logs().some((m) => m.startsWith('task a was merged into swarm/test just before the runner stopped'))).toBe(true);
  });

  it('after a crash: a merging task whose branch has no commits of its own is merged again, not taken for merged', async () => {
    const spec = makeSpec([makeTask('a')]);
    // The branch tip is its start: trivially an ancestor of anything, which proves nothing.
    const store = crashedRun(spec, { a: { state: 'merging', attempts: 1, branch: 'swarm/test/a', startSha: 'base0000' } });
    const git = new FakeGit();
    git.merges.push('a');
    const runner = new GatedRunner(git);
    const { engine, states } = engineFor(spec, store, git, runner);
    expect(await engine.run()).toMatchObject({ ok: true, value: { outcome: 'success' } });
    expect(states('a')).toEqual(['ready', 'starting', 'queued', 'merging', 'merged']);
    expect(runner.calls).toHaveLength(0);
  });
});

describe('RateLimiter', () => {
  it('halves on api_retry, then climbs back one step per quiet period, up to the cap', () => {
    let now = 0;
    const limiter = new RateLimiter(8, 60_000);
    expect(limiter.onRetry(now)).toBe(4);
    // Another retry right away does not halve again (at most once per quarter window).
    now += 1_000;
    expect(limiter.onRetry(now)).toBeUndefined();
    now += 20_000;
    expect(limiter.onRetry(now)).toBe(2);
    expect(limiter.limited).toBe(true);
    // Not quiet long enough yet.
    now += 59_000;
    expect(limiter.tick(now)).toBeUndefined();
    now += 1_000;
    expect(limiter.tick(now)).toBe(3);
    // One step per window, not all at once.
    now += 30_000;
    expect(limiter.tick(now)).toBeUndefined();
    now += 30_000;
    expect(limiter.tick(now)).toBe(4);
    // A retry during recovery lowers again (not in the same quarter window as the last
    // change: one burst of retries counts once) and restarts the quiet period.
    expect(limiter.onRetry(now + 1_000)).toBeUndefined();
    now += 15_000;
    expect(limiter.onRetry(now)).toBe(2);
    const steps: number[] = [];
    for (let i = 0; i < 10; i++) {
      now += 60_000;
      const raised = limiter.tick(now);
      if (raised !== undefined) steps.push(raised);
    }
    expect(steps).toEqual([3, 4, 5, 6, 7, 8]);
    expect(limiter.limited).toBe(false);
    expect(limiter.limit).toBe(8);
  });

  it('never goes below one agent', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 1_000);
    expect(limiter.onRetry(now)).toBe(1);
    now += 10_000;
    expect(limiter.onRetry(now)).toBeUndefined();
    expect(limiter.limit).toBe(1);
  });
});
