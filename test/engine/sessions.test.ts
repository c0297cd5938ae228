import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/config/spec.js';
import { Engine } from '../../src/engine/engine.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { agent, clock, FakeGit, FakeShell, GatedRunner, graphOf, makeSpec, makeTask, MemoryStore, MemoryLogs } from './fakes.js';

function setup(spec: Spec) {
  const store = new MemoryStore();
  const git = new FakeGit();
  const runner = new GatedRunner(git);
  const shell = new FakeShell();
  const events: SwarmEvent[] = [];
  // Registered as claude: the kind whose sessions a retry resumes.
  const engine = new Engine({
    spec,
    graph: graphOf(spec),
    store,
    git,
    shell,
    agents: new Map([['claude', runner]]),
    clock,
    concurrency: 2,
    logs: new MemoryLogs(),
    env: {},
  });
  engine.on((e) => events.push(e));
  return { store, git, runner, shell, events, engine };
}

const claudeTask = (id: string, retries: number) => makeTask(id, { retries, check: 'npm test', agent: agent({ kind: 'claude', command: undefined }) });

describe('engine: sessions and branches', () => {
  it('a resumed session that is gone: the same attempt runs again with the full prompt and no session, and no retry is spent', async () => {
    const spec = makeSpec([claudeTask('a', 1)]);
    const { runner, engine, shell, store, events } = setup(spec);
    shell.results.set('a', [1, 0]);
    const done = engine.run();
    (await runner.next()).finish({ sessionId: 'sess-1' });
    const resumed = await runner.next();
    expect(resumed.input).toMatchObject({ attempt: 2, resumeSession: 'sess-1' });
    expect(resumed.input.prompt).not.toContain('You are the agent for task "a"');
    resumed.finish({ ok: false, failure: 'session-missing', exitCode: 1, message: 'No conversation found with session ID: sess-1' });
    const fresh = await runner.next();
    expect(fresh.input.attempt).toBe(2);
    expect(fresh.input.resumeSession).toBeUndefined();
    expect(fresh.input.prompt).toContain('You are the agent for task "a"');
    expect(fresh.input.prompt).toContain('did not pass the check');
    fresh.finish({ sessionId: 'sess-2' });
    const result = await done;
    expect(result).toMatchObject({ ok: true, value: { outcome: 'success', merged: 1 } });
    expect(store.tasks.get('test/a')).toMatchObject({ state: 'merged', attempts: 2, sessionId: 'sess-2' });
    expect(events.some((e) => e.type === 'log' && e.message.includes('session sess-1 could not be resumed'))).toBe(true);
  });

  it('a session missing twice is a failure like any other: it is tried anew only once per attempt', async () => {
    const spec = makeSpec([claudeTask('a', 1)]);
    const { runner, engine, shell } = setup(spec);
    shell.results.set('a', [1]);
    const done = engine.run();
    (await runner.next()).finish({ sessionId: 'sess-1' });
    (await runner.next()).finish({ ok: false, failure: 'session-missing', exitCode: 1, message: 'gone' });
    const fresh = await runner.next();
    expect(fresh.input.resumeSession).toBeUndefined();
    fresh.finish({ ok: false, failure: 'session-missing', exitCode: 1, message: 'gone again' });
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    expect(runner.calls).toHaveLength(3);
  });

  it('an agent starting on a branch with commits gets their subjects and files in its prompt', async () => {
    const spec = makeSpec([claudeTask('a', 0)]);
    const { runner, engine, git } = setup(spec);
    git.commits.set('swarm/test/a', [
      { sha: '1111111111aaaa', subject: 'first half', files: ['src/a/one.ts'] },
      { sha: '2222222222bbbb', subject: 'swarm(a): work left by an interrupted attempt', files: ['src/a/two.ts', 'src/a/three.ts'] },
    ]);
    const done = engine.run();
    const call = await runner.next();
    expect(call.input.prompt).toContain('## Your branch already holds work');
    expect(call.input.prompt).toContain('  - 1111111111 first half (files: src/a/one.ts)');
    expect(call.input.prompt).toContain('  - 2222222222 swarm(a): work left by an interrupted attempt (files: src/a/two.ts, src/a/three.ts)');
    call.finish();
    expect((await done).ok).toBe(true);
  });

  it('a failed task whose prompt changed starts on a fresh branch; the old one is renamed, with a git branch line in the log', async () => {
    const spec = makeSpec([claudeTask('a', 0)]);
    const { runner, engine, store, git } = setup(spec);
    const done = engine.run();
    (await runner.next()).finish({ ok: false, failure: 'exit', exitCode: 1 });
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    git.branches.get('swarm/test/a')!.add('src/a/old.ts');
    git.commits.set('swarm/test/a', [{ sha: 'old1111111', subject: 'old work', files: ['src/a/old.ts'] }]);

    const changed = makeSpec([{ ...spec.tasks[0]!, prompt: 'do a, differently' }]);
    const events: SwarmEvent[] = [];
    const again = new Engine({
      spec: changed,
      graph: graphOf(changed),
      store,
      git,
      shell: new FakeShell(),
      agents: new Map([['claude', runner]]),
      clock,
      concurrency: 2,
      logs: new MemoryLogs(),
      env: {},
    });
    again.on((e) => events.push(e));
    const done2 = again.run();
    const call = await runner.next();
    expect(call.sees.has('src/a/old.ts')).toBe(false);
    expect(call.input.prompt).not.toContain('already holds work');
    call.finish();
    expect(await done2).toMatchObject({ ok: true, value: { outcome: 'success' } });
    expect(git.branches.get('swarm-replaced/test/a-base0000')).toEqual(new Set(['src/a/old.ts']));
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs.filter((m) => m.includes('git branch swarm-replaced/test/a-base0000 base0000'))).toHaveLength(1);
  });

  it('a lease deleted while the agent works fails the task as lease lost, not stopped by the user, and it does not merge', async () => {
    const spec = makeSpec([makeTask('a')]);
    const { runner, engine, store, git, events } = setup({ ...spec, tasks: spec.tasks.map((t) => ({ ...t, agent: agent({ kind: 'claude' }) })) });
    const done = engine.run();
    const call = await runner.next();
    store.leases.clear();
    call.finish();
    expect(await done).toMatchObject({ ok: true, value: { outcome: 'failed' } });
    const end = events.filter((e) => e.type === 'task' && e.task === 'a').at(-1);
    expect(end).toMatchObject({ to: 'failed' });
    expect(end?.type === 'task' ? end.detail : '').toMatch(/^its lease on src\/a\/\*\* was lost while it worked/);
    expect(git.merges).toEqual([]);
    expect(store.attempts.at(-1)).toMatchObject({ task: 'a', outcome: 'lease-lost' });
  });
});
