import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/config/spec.js';
import { Engine } from '../../src/engine/engine.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { type AgentCall, clock, FakeGit, FakeShell, GatedRunner, graphOf, makeSpec, makeTask, MemoryStore, MemoryLogs, fakeEnforcement } from './fakes.js';

function setup(spec: Spec, opts: { concurrency?: number } = {}) {
  const store = new MemoryStore();
  const git = new FakeGit();
  const runner = new GatedRunner(git);
  const shell = new FakeShell();
  const events: SwarmEvent[] = [];
  const engine = new Engine({
    spec,
    graph: graphOf(spec),
    store,
    git,
    shell,
    agents: new Map([['command', runner]]),
    clock,
    concurrency: opts.concurrency ?? spec.concurrency,
    logs: new MemoryLogs(),
    env: {},
    enforcement: fakeEnforcement(),
  });
  engine.on((e) => events.push(e));
  const states = (id: string) => events.filter((e) => e.type === 'task' && e.task === id).map((e) => (e.type === 'task' ? e.to : ''));
  return { store, git, runner, shell, events, engine, states };
}

describe('engine', () => {
  it('never runs more agents than the cap, and finishes every task', async () => {
    const spec = makeSpec(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => makeTask(id)));
    const { runner, engine, git } = setup(spec, { concurrency: 2 });
    const done = engine.run();
    for (let i = 0; i < 6; i++) {
      const call = await runner.next();
      expect(runner.running).toBeLessThanOrEqual(2);
      call.finish();
    }
    const result = await done;
    expect(result).toMatchObject({ ok: true, value: { outcome: 'success', merged: 6, total: 6 } });
    expect(runner.maxRunning).toBe(2);
    expect([...git.branches.get('swarm/test')!].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((t) => `src/${t}/a.ts`));
  });

  it('starts a task only after its dependencies merged, from a base holding their work', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b', { dependsOn: ['a'] }), makeTask('c', { dependsOn: ['a', 'b'] })]);
    const { runner, engine, git } = setup(spec);
    const done = engine.run();
    const a = await runner.next();
    expect(a.input.task.id).toBe('a');
    a.finish();
    const b = await runner.next();
    expect(b.input.task.id).toBe('b');
    expect(git.merges).toEqual(['a']);
    expect(b.sees.has('src/a/a.ts')).toBe(true);
    expect(b.input.prompt).toContain('a: Task a');
    b.finish();
    const c = await runner.next();
    expect([...c.sees].sort()).toEqual(['src/a/a.ts', 'src/b/a.ts']);
    c.finish();
    expect((await done).ok).toBe(true);
    expect(git.merges).toEqual(['a', 'b', 'c']);
  });

  it('starts the task with the longest remaining path first, ties by id', async () => {
    // All four are ready at once. z heads a chain of three, b one of two; a and m are alone.
    const spec = makeSpec([
      makeTask('a'),
      makeTask('m'),
      makeTask('b'),
      makeTask('b2', { dependsOn: ['b'] }),
      makeTask('z'),
      makeTask('z2', { dependsOn: ['z'] }),
      makeTask('z3', { dependsOn: ['z2'] }),
    ]);
    const { runner, engine } = setup(spec, { concurrency: 1 });
    const done = engine.run();
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      const call = await runner.next();
      order.push(call.input.task.id);
      call.finish();
    }
    await done;
    // z (3) first, then b (2; z2 is not ready yet, and would lose the tie by id), and a before m.
    expect(order.slice(0, 2)).toEqual(['z', 'b']);
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('m'));
    expect(order.indexOf('z2')).toBeLessThan(order.indexOf('a'));
  });

  it('a failing task blocks exactly its downstream; independent work goes on', async () => {
    const spec = makeSpec([makeTask('bad'), makeTask('child', { dependsOn: ['bad'] }), makeTask('grandchild', { dependsOn: ['child'] }), makeTask('free')]);
    const { runner, engine, states } = setup(spec, { concurrency: 2 });
    const done = engine.run();
    const first = [await runner.next(), await runner.next()];
    first.find((c) => c.input.task.id === 'bad')!.finish({ ok: false, exitCode: 3, failure: 'exit' });
    first.find((c) => c.input.task.id === 'free')!.finish();
    const result = await done;
    expect(result).toMatchObject({ ok: true, value: { outcome: 'failed', merged: 1 } });
    expect(states('bad').at(-1)).toBe('failed');
    expect(states('child')).toEqual(['blocked']);
    expect(states('grandchild')).toEqual(['blocked']);
    expect(states('free').at(-1)).toBe('merged');
  });

  it('retries a failed check with the check output in the prompt', async () => {
    const spec = makeSpec([makeTask('a', { retries: 1, check: 'npm test' })]);
    const { runner, engine, shell, states } = setup(spec);
    shell.results.set('a', [1, 0]);
    const done = engine.run();
    (await runner.next()).finish();
    const retry = await runner.next();
    expect(retry.input.attempt).toBe(2);
    expect(retry.input.prompt).toContain('npm test');
    expect(retry.input.prompt).toContain('FAIL: a expected 2 got 3');
    retry.finish();
    expect((await done).ok).toBe(true);
    expect(states('a')).toEqual(['ready', 'starting', 'running', 'checking', 'running', 'checking', 'queued', 'merging', 'merged']);
  });

  it('fails when the check still fails after the retries', async () => {
    const spec = makeSpec([makeTask('a', { retries: 1, check: 'npm test' })]);
    const { runner, engine, shell, states, store } = setup(spec);
    shell.results.set('a', [1, 1]);
    const done = engine.run();
    (await runner.next()).finish();
    (await runner.next()).finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(states('a').at(-1)).toBe('failed');
    expect(store.getTasks('test')[0]!.detail).toContain('npm test');
  });

  it('never runs two tasks with overlapping globs at once', async () => {
    const spec = makeSpec([makeTask('a', { files: ['src/api/**'] }), makeTask('b', { files: ['src/api/*.ts'] }), makeTask('c')]);
    const { runner, engine, states } = setup(spec, { concurrency: 3 });
    const done = engine.run();
    const first = await runner.next();
    const second = await runner.next();
    expect([first.input.task.id, second.input.task.id].sort()).toEqual(['a', 'c']);
    expect(states('b')).toEqual(['ready', 'waiting']);
    expect(runner.running).toBe(2);
    first.finish();
    second.finish();
    const third = await runner.next();
    expect(third.input.task.id).toBe('b');
    third.finish();
    expect((await done).ok).toBe(true);
    expect(runner.maxRunning).toBe(2);
  });

  it('audits the diff: a write outside the globs fails the task (enforce: block)', async () => {
    const spec = makeSpec([makeTask('a')]);
    const { runner, engine, states, events } = setup(spec);
    const done = engine.run();
    (await runner.next()).finish({}, ['src/a/ok.ts', 'outside/evil.ts']);
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(states('a').at(-1)).toBe('failed');
    expect(events.some((e) => e.type === 'lease' && e.reason === 'violation' && e.path === 'outside/evil.ts')).toBe(true);
  });

  it('with on_conflict: fail, a conflict marks the task conflicted', async () => {
    const spec = makeSpec([makeTask('a')]);
    const { runner, engine, git, states } = setup(spec);
    git.conflictOnce.add('a');
    const done = engine.run();
    (await runner.next()).finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(states('a').at(-1)).toBe('conflicted');
  });

  it('with on_conflict: agent, the agent resolves and the task merges', async () => {
    const spec = makeSpec([makeTask('a')], { merge: { strategy: 'merge', onConflict: 'agent' } });
    const { runner, engine, git, states } = setup(spec);
    git.conflictOnce.add('a');
    const done = engine.run();
    (await runner.next()).finish();
    const resolve = await runner.next();
    expect(resolve.input.prompt).toContain('shared.txt');
    expect(resolve.input.prompt).toContain('conflict');
    resolve.finish();
    expect((await done).ok).toBe(true);
    expect(states('a')).toContain('resolving');
    expect(states('a').at(-1)).toBe('merged');
  });

  it('a conflict resolution refused by the audit is retried like any attempt, and the task merges once the agent undoes it', async () => {
    const spec = makeSpec([makeTask('a', { retries: 1 })], { merge: { strategy: 'merge', onConflict: 'agent' } });
    const { runner, engine, git, states } = setup(spec);
    git.conflictOnce.add('a');
    const done = engine.run();
    (await runner.next()).finish();
    // The resolving agent also writes outside its globs: the audit refuses it.
    (await runner.next()).finish({}, ['src/a/a.ts', 'outside/x.ts']);
    const retry = await runner.next();
    expect(retry.input.prompt).toContain('outside/x.ts');
    git.branches.get('swarm/test/a')!.delete('outside/x.ts');
    retry.finish();
    expect((await done).ok).toBe(true);
    expect(runner.calls).toHaveLength(3);
    expect(states('a')).toEqual(expect.arrayContaining(['resolving', 'running']));
    expect(states('a').at(-1)).toBe('merged');
    expect(git.branches.get('swarm/test')!.has('outside/x.ts')).toBe(false);
  });

  it('a task that conflicts again after two resolutions ends conflicted: no third round', async () => {
    const spec = makeSpec([makeTask('a')], { merge: { strategy: 'merge', onConflict: 'agent' } });
    const { runner, engine, git, states } = setup(spec);
    const prepare = git.prepareMerge.bind(git);
    git.prepareMerge = async (o) => {
      git.conflictOnce.add('a');
      return prepare(o);
    };
    const done = engine.run();
    for (let i = 0; i < 3; i++) (await runner.next()).finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(runner.calls).toHaveLength(3);
    expect(states('a').filter((s) => s === 'resolving')).toHaveLength(2);
    expect(states('a').at(-1)).toBe('conflicted');
    expect(git.merges).toEqual([]);
  });

  it('an agent resolving a conflict that cannot log in: the task is cancelled (resumable), not conflicted', async () => {
    const spec = makeSpec([makeTask('a')], { merge: { strategy: 'merge', onConflict: 'agent' } });
    const { runner, engine, git, states, events } = setup(spec);
    git.conflictOnce.add('a');
    const done = engine.run();
    (await runner.next()).finish();
    (await runner.next()).finish({ ok: false, failure: 'auth', exitCode: 1, signal: null, message: 'Not logged in · Please run /login' });
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'cancelled' } });
    expect(states('a').at(-1)).toBe('cancelled');
    expect(events.filter((e) => e.type === 'log' && e.message.includes('could not authenticate (Not logged in'))).toHaveLength(1);
  });

  it('a task waiting for a lease held outside the run keeps the run alive until it gets it', async () => {
    const spec = makeSpec([makeTask('a')]);
    const { runner, engine, store, states } = setup(spec);
    const held = store.acquire({ holder: 'alice', globs: ['src/a/**'], pid: 0, host: 'localhost', ttlMs: 60_000 });
    if (!held.ok) throw new Error('could not take the outside lease');
    let ended = false;
    const done = engine.run().finally(() => (ended = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(ended).toBe(false);
    expect(runner.calls).toHaveLength(0);
    expect(states('a').at(-1)).toBe('waiting');
    store.release(held.lease.id, held.lease.token);
    (await runner.next()).finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'success', merged: 1 } });
  });

  it('a forced stop aborts a running merge.check: the task is cancelled and the branch does not move', async () => {
    const spec = makeSpec([makeTask('a')], { merge: { strategy: 'merge', onConflict: 'fail', check: 'make' } });
    const { runner, engine, git, shell, states, events } = setup(spec);
    shell.run = (o) =>
      new Promise((resolve) =>
        o.signal.addEventListener('abort', () => resolve({ exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: true, output: '' })),
      );
    const done = engine.run();
    (await runner.next()).finish();
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'check' && e.scope === 'merge'); i++) await new Promise((r) => setTimeout(r, 5));
    engine.stop(true);
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'cancelled' } });
    expect(states('a').at(-1)).toBe('cancelled');
    expect(git.merges).toEqual([]);
  });

  it('merge.check failing fails the task and says the merge was undone', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b', { dependsOn: ['a'] })], { merge: { strategy: 'merge', onConflict: 'fail', check: 'make' } });
    const { runner, engine, git, shell, states, events } = setup(spec);
    // The merge check runs through the shell port, with the task's name in SWARM_TASK.
    shell.results.set('a', [1]);
    const done = engine.run();
    (await runner.next()).finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(states('a').at(-1)).toBe('failed');
    expect(states('b')).toEqual(['blocked']);
    expect(events.some((e) => e.type === 'merge' && e.reason === 'undone')).toBe(true);
    expect(events.some((e) => e.type === 'check' && e.scope === 'merge' && e.reason === 'failed')).toBe(true);
    // The branch never moved: nothing of a is on it.
    expect(git.merges).toEqual([]);
  });

  it('stop() cancels running agents and ends resumable', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b', { dependsOn: ['a'] })]);
    const { runner, engine, states, store } = setup(spec);
    const done = engine.run();
    await runner.next();
    engine.stop(false);
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'cancelled' } });
    expect(states('a').at(-1)).toBe('cancelled');
    expect(store.leases.size).toBe(0);
  });

  it('an agent that cannot log in stops the run: no retry, no new start, the others cancelled, one message', async () => {
    const spec = makeSpec(['a', 'b', 'c', 'd'].map((id) => makeTask(id, { retries: 2 })));
    const { runner, engine, events, store } = setup(spec, { concurrency: 2 });
    const done = engine.run();
    const first = await runner.next();
    const second = await runner.next();
    first.finish({ ok: false, failure: 'auth', exitCode: 1, signal: null, message: 'Invalid API key · Fix external API key' });
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'cancelled', merged: 0 } });
    // Two agents ever started (the second was stopped), none retried, c and d never started.
    expect(runner.calls.map((c) => `${c.input.task.id}:${c.input.attempt}`)).toEqual([`${first.input.task.id}:1`, `${second.input.task.id}:1`]);
    expect(events.some((e) => e.type === 'task' && e.to === 'failed')).toBe(false);
    for (const call of [first, second]) {
      const last = events.filter((e) => e.type === 'task' && e.task === call.input.task.id).at(-1);
      expect(last).toMatchObject({ to: 'cancelled', detail: 'stopped: claude could not authenticate (Invalid API key · Fix external API key)' });
    }
    const messages = events.filter((e) => e.type === 'log' && e.reason === 'warning' && e.message.includes('could not authenticate'));
    expect(messages).toHaveLength(1);
    expect(store.leases.size).toBe(0);
  });

  it('stops starting tasks when the budget is spent', async () => {
    const spec = makeSpec([makeTask('a'), makeTask('b'), makeTask('c')], { budgetUsd: 1 });
    const { runner, engine, events } = setup(spec, { concurrency: 1 });
    const done = engine.run();
    (await runner.next()).finish({ costUsd: 1.5 });
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'budget', merged: 1 } });
    expect(runner.calls).toHaveLength(1);
    expect(events.some((e) => e.type === 'log' && e.message.includes('budget_usd'))).toBe(true);
  });

  it('api_retry events lower the start limit: fewer agents start until it recovers', async () => {
    const spec = makeSpec(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => makeTask(id)));
    const { runner, engine, events } = setup(spec, { concurrency: 4 });
    const done = engine.run();
    const first = [await runner.next(), await runner.next(), await runner.next(), await runner.next()];
    expect(runner.running).toBe(4);
    first[0]!.input.onEvent({ reason: 'api-retry', retryAttempt: 1, delayMs: 1000, error: 'rate limited (HTTP 429)' });
    // A second retry of the same burst does not lower it again.
    first[1]!.input.onEvent({ reason: 'api-retry', retryAttempt: 1, delayMs: 1000, error: 'rate limited (HTTP 429)' });
    const limits = events.filter((e) => e.type === 'limit');
    expect(limits).toEqual([expect.objectContaining({ reason: 'lowered', concurrency: 2, max: 4 })]);
    // Two agents end: with the limit at 2 and two still running, nothing new starts.
    first[0]!.finish();
    first[1]!.finish();
    await new Promise((r) => setTimeout(r, 50));
    expect(runner.running).toBe(2);
    expect(runner.calls).toHaveLength(4);
    // One more ends: one slot under the limit, so exactly one starts.
    first[2]!.finish();
    const e = await runner.next();
    await new Promise((r) => setTimeout(r, 50));
    expect(runner.running).toBe(2);
    first[3]!.finish();
    e.finish();
    (await runner.next()).finish();
    expect((await done).ok).toBe(true);
    expect(runner.calls).toHaveLength(6);
  });
});

describe('engine: merge queue order', () => {
  it('of the tasks waiting to merge, the one on the longest remaining chain lands first', async () => {
    // c heads a chain (c -> d -> e): its merge unblocks the most work. a and b are leaves.
    const spec = makeSpec([makeTask('a'), makeTask('b'), makeTask('c'), makeTask('d', { dependsOn: ['c'] }), makeTask('e', { dependsOn: ['d'] })], {
      merge: { strategy: 'merge', onConflict: 'fail', check: 'npm test' },
    });
    const { runner, engine, git, shell, events } = setup(spec, { concurrency: 3 });
    const queued = (id: string) => events.some((e) => e.type === 'merge' && e.reason === 'queued' && e.task === id);
    // a's merge.check is held open, so b and c both wait in the merge queue behind it.
    let releaseA!: () => void;
    const heldA = new Promise<void>((r) => (releaseA = r));
    const plain = shell.run.bind(shell);
    shell.run = async (o) => {
      if (o.env.SWARM_TASK === 'a' && o.command === 'npm test') await heldA;
      return plain(o);
    };
    const done = engine.run();
    const started = new Map<string, AgentCall>();
    for (let i = 0; i < 3; i++) {
      const call = await runner.next();
      started.set(call.input.task.id, call);
    }
    started.get('a')!.finish();
    await until(() => events.some((e) => e.type === 'check' && e.scope === 'merge' && e.reason === 'started' && e.task === 'a'));
    // b is queued first, c second: first-come order would land b before c.
    started.get('b')!.finish();
    await until(() => queued('b'));
    started.get('c')!.finish();
    await until(() => queued('c'));
    expect(git.merges).toEqual([]);
    releaseA();
    (await runner.next()).finish();
    (await runner.next()).finish();
    expect((await done).ok).toBe(true);
    expect(git.merges.slice(0, 3)).toEqual(['a', 'c', 'b']);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('timed out waiting');
}
