import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import { AgentRig } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import { checkoutSnapshot } from '../helpers/snapshot.js';

interface T {
  id: string;
  files: string[];
  deps?: string[];
  check?: string;
  retries?: number;
}

let rig: AgentRig;
// A rig per test, so agents a failed test left behind cannot leak into the next one.
beforeEach(async () => {
  rig = await AgentRig.start();
});
afterEach(() => rig.close());

function yaml(tasks: T[], extra: string[] = []): string {
  return [
    'version: 1',
    'name: e2e',
    'concurrency: 2',
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: ${JSON.stringify(rig.command)}`,
    ...extra,
    'tasks:',
    ...tasks.flatMap((t) => [
      `  - id: ${t.id}`,
      `    prompt: Do ${t.id}.`,
      `    files: ${JSON.stringify(t.files)}`,
      `    depends_on: ${JSON.stringify(t.deps ?? [])}`,
      ...(t.check ? [`    check: ${JSON.stringify(t.check)}`] : []),
      ...(t.retries !== undefined ? [`    retries: ${t.retries}`] : []),
    ]),
  ].join('\n');
}

function start(repo: TempRepo, text: string, args: string[] = []) {
  writeFileSync(join(repo.dir, 'swarm.yaml'), text);
  repo.git('add', 'swarm.yaml');
  repo.git('commit', '-q', '-m', 'swarm file');
  return swarm(['run', 'swarm.yaml', '--ui', 'json', ...args], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath } });
}

function events(stdout: unknown): SwarmEvent[] {
  return String(stdout)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SwarmEvent);
}

const stateOf = (evs: SwarmEvent[], task: string) =>
  evs.filter((e): e is Extract<SwarmEvent, { type: 'task' }> => e.type === 'task' && e.task === task).map((e) => e.to);

describe('swarm run, end to end through the built CLI', () => {
  it('runs a graph under the cap, dependents see their dependencies, the integration branch gets everything, the checkout is untouched', async () => {
    const repo = tempRepo({ 'README.md': '# app\n', 'src/keep.txt': 'keep\n' });
    // A dirty checkout: swarm works from commits and must leave this alone.
    repo.write('README.md', '# app, being edited by hand\n');
    repo.write('notes.txt', 'untracked\n');
    const run = start(
      repo,
      yaml([
        { id: 'base', files: ['lib/base/**'] },
        { id: 'left', files: ['lib/left/**'], deps: ['base'] },
        { id: 'right', files: ['lib/right/**'], deps: ['base'] },
        { id: 'solo', files: ['lib/solo/**'] },
        { id: 'top', files: ['lib/top/**'], deps: ['left', 'right'] },
      ]),
    );
    const before = checkoutSnapshot(repo.dir);

    const agents = new Map<string, Awaited<ReturnType<AgentRig['next']>>>();
    for (let i = 0; i < 5; i++) {
      const a = await rig.next();
      expect(rig.live).toBeLessThanOrEqual(2);
      agents.set(a.hello.task, a);
      const { task, files } = a.hello;
      if (task === 'left' || task === 'right') expect(files).toContain('lib/base/base.txt');
      if (task === 'top') expect(files).toEqual(expect.arrayContaining(['lib/left/left.txt', 'lib/right/right.txt', 'lib/base/base.txt']));
      expect(a.hello.prompt).toContain(`Do ${task}.`);
      await a.write(`lib/${task}/${task}.txt`, `${task}\n`);
      a.exit(0);
    }
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(rig.maxLive).toBeLessThanOrEqual(2);
    expect(rig.started.indexOf('top')).toBeGreaterThan(rig.started.indexOf('left'));

    const evs = events(result.stdout);
    // No task started before each of its dependencies merged.
    const at = (task: string, to: string) => evs.findIndex((e) => e.type === 'task' && e.task === task && e.to === to);
    for (const [task, deps] of [
      ['left', ['base']],
      ['right', ['base']],
      ['top', ['left', 'right']],
    ] as const) {
      for (const d of deps) expect(at(task, 'starting')).toBeGreaterThan(at(d, 'merged'));
    }
    const tree = repo.git('ls-tree', '-r', '--name-only', 'swarm/e2e').split('\n');
    expect(tree).toEqual(expect.arrayContaining(['lib/base/base.txt', 'lib/left/left.txt', 'lib/right/right.txt', 'lib/solo/solo.txt', 'lib/top/top.txt']));
    expect(checkoutSnapshot(repo.dir)).toBe(before);
    expect(readFileSync(join(repo.dir, 'README.md'), 'utf8')).toBe('# app, being edited by hand\n');
    expect(evs.some((e) => e.type === 'log' && e.message.includes('uncommitted changes'))).toBe(true);
    repo.cleanup();
  });

  it('emits the JSON event stream in order', async () => {
    const repo = tempRepo();
    const run = start(repo, yaml([{ id: 'one', files: ['one/**'] }]));
    const a = await rig.next();
    await a.write('one/x.txt', 'x\n');
    a.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(0);
    const evs = events(result.stdout).filter((e) => !(e.type === 'agent' && e.reason === 'output') && e.type !== 'log');
    expect(evs.map((e) => `${e.type}:${e.reason}${e.type === 'task' ? `:${e.to}` : ''}`)).toEqual([
      'run:started',
      'task:state:ready',
      'lease:acquired',
      'task:state:starting',
      'task:state:running',
      'agent:spawned',
      'agent:exited',
      'task:state:queued',
      'merge:queued',
      'task:state:merging',
      'merge:started',
      'merge:merged',
      'task:state:merged',
      'lease:released',
      'run:finished',
    ]);
    expect(evs.at(-1)).toMatchObject({ type: 'run', reason: 'finished', outcome: 'success', merged: 1, total: 1 });
    repo.cleanup();
  });

  it('a failing task blocks exactly its downstream, independent work merges, exit 1', async () => {
    const repo = tempRepo();
    const run = start(
      repo,
      yaml([
        { id: 'bad', files: ['bad/**'] },
        { id: 'after-bad', files: ['after/**'], deps: ['bad'] },
        { id: 'fine', files: ['fine/**'] },
      ]),
    );
    for (let i = 0; i < 2; i++) {
      const a = await rig.next();
      if (a.hello.task === 'bad') a.exit(3);
      else {
        await a.write('fine/ok.txt', 'ok\n');
        a.exit(0);
      }
    }
    const result = await run;
    expect(result.exitCode).toBe(1);
    const evs = events(result.stdout);
    expect(stateOf(evs, 'bad').at(-1)).toBe('failed');
    expect(stateOf(evs, 'after-bad')).toEqual(['blocked']);
    expect(stateOf(evs, 'fine').at(-1)).toBe('merged');
    expect(rig.started).not.toContain('after-bad');
    repo.cleanup();
  });

  it('retries a failed check with the check output in the new prompt', async () => {
    const repo = tempRepo();
    const run = start(repo, yaml([{ id: 'fix', files: ['fix/**'], check: 'cat fix/result.txt && grep -q green fix/result.txt', retries: 1 }]));
    const first = await rig.next();
    await first.write('fix/result.txt', 'still red, wanted the other colour\n');
    first.exit(0);
    const second = await rig.next();
    expect(second.hello.prompt).toContain('did not pass the check');
    expect(second.hello.prompt).toContain('still red, wanted the other colour');
    await second.write('fix/result.txt', 'green\n');
    second.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(repo.git('show', 'swarm/e2e:fix/result.txt')).toBe('green');
    repo.cleanup();
  });

  it('merge.check failing undoes the merge', async () => {
    const repo = tempRepo();
    const run = start(repo, yaml([{ id: 'breaks', files: ['b/**'] }], ['merge:', '  check: test ! -f b/broken.txt']));
    const a = await rig.next();
    const headBefore = repo.git('rev-parse', 'swarm/e2e');
    await a.write('b/broken.txt', 'x\n');
    a.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(repo.git('rev-parse', 'swarm/e2e')).toBe(headBefore);
    const evs = events(result.stdout);
    expect(evs.some((e) => e.type === 'merge' && e.reason === 'undone')).toBe(true);
    expect(stateOf(evs, 'breaks').at(-1)).toBe('failed');
    repo.cleanup();
  });

  it('a merge conflict with on_conflict: fail marks the task conflicted', async () => {
    const repo = tempRepo({ 'shared.txt': 'line\n' });
    const run = start(
      repo,
      yaml(
        [
          { id: 'one', files: ['one/**'] },
          { id: 'two', files: ['two/**'] },
        ],
        ['lease:', '  enforce: off', 'merge:', '  on_conflict: fail'],
      ),
    );
    const a = await rig.next();
    const b = await rig.next();
    await a.write('shared.txt', `from ${a.hello.task}\n`);
    await b.write('shared.txt', `from ${b.hello.task}\n`);
    a.exit(0);
    b.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(1);
    const evs = events(result.stdout);
    const finals = [stateOf(evs, 'one').at(-1), stateOf(evs, 'two').at(-1)].sort();
    expect(finals).toEqual(['conflicted', 'merged']);
    expect(evs.some((e) => e.type === 'merge' && e.reason === 'conflict' && e.files.includes('shared.txt'))).toBe(true);
    repo.cleanup();
  });

  it('a merge conflict with on_conflict: agent is resolved by the agent and merged', async () => {
    const repo = tempRepo({ 'shared.txt': 'line\n' });
    const run = start(
      repo,
      yaml(
        [
          { id: 'one', files: ['one/**'] },
          { id: 'two', files: ['two/**'] },
        ],
        ['lease:', '  enforce: off', 'merge:', '  on_conflict: agent'],
      ),
    );
    const a = await rig.next();
    const b = await rig.next();
    await a.write('shared.txt', 'from one\n');
    await b.write('shared.txt', 'from two\n');
    a.exit(0);
    b.exit(0);
    const resolver = await rig.next();
    expect(resolver.hello.prompt).toContain('Resolve a merge conflict');
    expect(resolver.hello.prompt).toContain('shared.txt');
    const marked = await resolver.read('shared.txt');
    expect(marked).toContain('<<<<<<< HEAD');
    // Labelled with the integration branch's name, which the prompt talks about, not a sha.
    expect(marked).toContain('>>>>>>> swarm/e2e\n');
    expect(resolver.hello.prompt).toContain('the side above `>>>>>>> swarm/e2e` is what other tasks merged into swarm/e2e');
    await resolver.write('shared.txt', 'from one\nfrom two\n');
    resolver.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(repo.git('show', 'swarm/e2e:shared.txt')).toBe('from one\nfrom two');
    repo.cleanup();
  });

  it('rejects bad flags with exit 2 and names the flag', async () => {
    const repo = tempRepo();
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml([{ id: 'x', files: ['x/**'] }]));
    const bad = await swarm(['run', 'swarm.yaml', '--concurrency', 'zero'], { cwd: repo.dir });
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain('--concurrency: expected a positive integer, got "zero"');
    const only = await swarm(['run', 'swarm.yaml', '--only', 'nope'], { cwd: repo.dir });
    expect(only.exitCode).toBe(2);
    expect(String(only.stderr)).toContain('--only: no task named nope');
    repo.cleanup();
  });
});
