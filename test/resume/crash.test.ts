import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { AgentRig, RIG_AGENT } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { git, tempRepo, type TempRepo } from '../helpers/git-repo.js';
import { Connections, isAlive, started, startRun, writeSpec } from './runner.js';

let rig: AgentRig;
let repo: TempRepo;
beforeEach(async () => {
  rig = await AgentRig.start();
  repo = tempRepo({ 'README.md': '# crash\n' });
});
afterEach(async () => {
  started.killAll();
  await rig.close();
  repo.cleanup();
});

const rigCommand = JSON.stringify([process.execPath, RIG_AGENT]);

/**
 * a and c are independent, b depends on a. c has a check, and every merge runs merge.check;
 * both are the rig agent too, so the test holds them open and kills the runner meanwhile.
 */
function spec(): string[] {
  return [
    'version: 1',
    'name: crash',
    'concurrency: 2',
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: ${rigCommand}`,
    'merge:',
    `  check: ${JSON.stringify(`"${process.execPath}" "${RIG_AGENT}"`)}`,
    'tasks:',
    '  - id: a',
    '    prompt: Do a.',
    '    files: ["a/**"]',
    '  - id: b',
    '    prompt: Do b.',
    '    files: ["b/**"]',
    '    depends_on: [a]',
    '  - id: c',
    '    prompt: Do c.',
    '    files: ["c/**"]',
    `    check: ${JSON.stringify(`"${process.execPath}" "${RIG_AGENT}"`)}`,
  ];
}

describe('a runner killed with SIGKILL at many points, run again each time', () => {
  it('merges every task exactly once, loses no commit, leaves no lease, keeps the history linear', async () => {
    writeSpec(repo, spec());
    repo.commitAll('swarm file');
    const base = repo.git('rev-parse', 'HEAD');
    const conns = new Connections(rig);

    // Run 1: killed while both agents work; a has made a commit of its own and left a file
    // uncommitted, c has only uncommitted work.
    const run1 = startRun(repo, rig);
    const a1 = await conns.next('agent', 'a');
    const c1 = await conns.next('agent', 'c');
    await a1.write('a/committed.txt', 'a committed this\n');
    git(a1.hello.worktree, 'add', 'a/committed.txt');
    git(a1.hello.worktree, 'commit', '-q', '-m', 'agent a: its own commit');
    const agentCommit = git(a1.hello.worktree, 'rev-parse', 'HEAD');
    await a1.write('a/uncommitted.txt', 'a had not committed this\n');
    await c1.write('c/first.txt', 'c, first run\n');
    await run1.kill();
    // Agents run detached: the crash leaves them running.
    expect(isAlive(a1.hello.pid)).toBe(true);

    // Run 2: the orphans are stopped and their work committed before the tasks start again on
    // the same branches. Killed while merge.check runs for a (its merge commit is made) and
    // while c's check runs.
    const run2 = startRun(repo, rig);
    const a2 = await conns.next('agent', 'a');
    expect(isAlive(a1.hello.pid)).toBe(false);
    expect(isAlive(c1.hello.pid)).toBe(false);
    expect(await a2.read('a/uncommitted.txt')).toBe('a had not committed this\n');
    expect(await a2.read('a/committed.txt')).toBe('a committed this\n');
    expect(git(a2.hello.worktree, 'status', '--porcelain')).toBe('');
    await a2.write('a/second.txt', 'a, second run\n');
    a2.exit(0);
    const c2 = await conns.next('agent', 'c');
    expect(await c2.read('c/first.txt')).toBe('c, first run\n');
    c2.exit(0);
    const mergeCheckA = await conns.next('merge', 'a');
    const checkC = await conns.next('check', 'c');
    // The merge is made beside the branch: while its check runs, the branch has not moved.
    expect(repo.git('rev-parse', 'swarm/crash')).toBe(base);
    await run2.kill();
    expect(repo.git('rev-parse', 'swarm/crash')).toBe(base);
    mergeCheckA.exit(1);
    checkC.exit(1);
    expect(run2.events.some((e) => e.type === 'log' && e.message.includes('interrupted'))).toBe(true);

    // Run 3: a's merge.check was cut off, so its merge never landed: a is merged again,
    // check included (no agent runs for it); only then
    // does b start. c's check was cut off too, so c runs again. Killed while b's
    // merge.check runs and c waits in the merge queue behind it (checked, queued).
    const run3 = startRun(repo, rig);
    const mergeCheckA3 = await conns.next('merge', 'a');
    expect(conns.count('agent', 'b')).toBe(0);
    mergeCheckA3.exit(0);
    const b3 = await conns.next('agent', 'b');
    expect(b3.hello.files).toContain('a/second.txt');
    await b3.write('b/b.txt', 'b\n');
    b3.exit(0);
    const mergeCheckB = await conns.next('merge', 'b');
    const c3 = await conns.next('agent', 'c');
    await c3.write('c/third.txt', 'c, third run\n');
    c3.exit(0);
    (await conns.next('check', 'c')).exit(0);
    await run3.waitFor((e) => e.type === 'task' && e.task === 'c' && e.to === 'queued');
    await run3.kill();
    mergeCheckB.exit(1);
    expect(run3.events.some((e) => e.type === 'log' && e.message.startsWith('task a: its merge had not landed when the runner stopped'))).toBe(true);
    expect(conns.count('merge', 'a')).toBe(2);
    expect(conns.count('agent', 'a')).toBe(2);

    // Run 4: b's merge.check was cut off as well: b is merged again, check included; c
    // had passed its check, so it goes straight to the merge queue: no agent runs.
    const agentsBefore = conns.count('agent', 'c');
    const run4 = startRun(repo, rig);
    (await conns.next('merge', 'b')).exit(0);
    (await conns.next('merge', 'c')).exit(0);
    const result4 = await run4.proc;
    expect(result4.exitCode).toBe(0);
    expect(conns.count('agent', 'c')).toBe(agentsBefore);
    expect(conns.count('agent', 'b')).toBe(1);

    // Run 5: nothing left to do.
    const run5 = startRun(repo, rig);
    const result5 = await run5.proc;
    expect(result5.exitCode).toBe(0);
    expect(run5.events.some((e) => e.type === 'log' && e.message === 'nothing to do: all 3 tasks merged on swarm/crash')).toBe(true);

    // Exactly one merge per task, and nothing else, on the integration branch's first-parent chain.
    const chain = repo.git('rev-list', '--first-parent', '--format=%P%x09%s', '--no-commit-header', `${base}..swarm/crash`).split('\n');
    expect(chain).toHaveLength(3);
    for (const line of chain) expect(line.split('\t')[0]!.split(' ')).toHaveLength(2);
    expect(chain.map((l) => /swarm\((\w)\)/.exec(l)?.[1]).sort()).toEqual(['a', 'b', 'c']);
    // No commit lost: the agent's own commit, and what each interrupted agent left.
    expect(repo.git('merge-base', '--is-ancestor', agentCommit, 'swarm/crash')).toBe('');
    const tree = repo.git('ls-tree', '-r', '--name-only', 'swarm/crash').split('\n');
    expect(tree).toEqual(expect.arrayContaining(['a/committed.txt', 'a/uncommitted.txt', 'a/second.txt', 'b/b.txt', 'c/first.txt', 'c/third.txt']));
    for (const task of ['a', 'b', 'c']) {
      expect(repo.git('merge-base', '--is-ancestor', `swarm-task/crash/${task}`, 'swarm/crash')).toBe('');
    }
    // No lease left behind: not live, and not even a dead row.
    const leases = await swarm(['leases', '--json'], { cwd: repo.dir });
    expect(JSON.parse(String(leases.stdout))).toEqual([]);
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      expect(store.leaseRows()).toEqual([]);
      expect(store.getTasks('crash').map((t) => t.state)).toEqual(['merged', 'merged', 'merged']);
      expect(
        store
          .attempts('crash')
          .filter((x) => x.outcome === 'interrupted')
          .map((x) => `${x.task}.${x.attempt}`)
          .sort(),
      ).toEqual(['a.1', 'c.1', 'c.2']);
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('a runner killed while merge.check runs', () => {
  it('never lands that merge; on resume it is checked again, and when the check fails the work is not on the integration branch', async () => {
    writeSpec(repo, [
      'version: 1',
      'name: recheck',
      'retries: 0',
      'agent:',
      '  kind: command',
      `  command: ${rigCommand}`,
      'merge:',
      `  check: ${JSON.stringify(`"${process.execPath}" "${RIG_AGENT}"`)}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a/**"]',
      '  - id: b',
      '    prompt: Do b.',
      '    files: ["b/**"]',
      '    depends_on: [a]',
    ]);
    repo.commitAll('swarm file');
    const base = repo.git('rev-parse', 'HEAD');
    const conns = new Connections(rig);

    const run1 = startRun(repo, rig);
    const a1 = await conns.next('agent', 'a');
    await a1.write('a/a.txt', 'a\n');
    a1.exit(0);
    const check1 = await conns.next('merge', 'a');
    // The merge is made beside the integration branch, which moves only once the check passed.
    expect(repo.git('rev-parse', 'swarm/recheck')).toBe(base);
    await run1.kill();
    expect(repo.git('rev-parse', 'swarm/recheck')).toBe(base);
    check1.exit(0);

    const run2 = startRun(repo, rig);
    const check2 = await conns.next('merge', 'a');
    // Made again on top of the base, and checked again: the branch is still at the base.
    expect(repo.git('rev-parse', 'swarm/recheck')).toBe(base);
    expect(git(join(repo.dir, '.swarm', 'worktrees', 'recheck', '_merge'), 'rev-parse', 'HEAD^1')).toBe(base);
    check2.exit(1);
    const result = await run2.proc;
    expect(result.exitCode).not.toBe(0);
    expect(repo.git('rev-parse', 'swarm/recheck')).toBe(base);
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm/recheck').split('\n')).not.toContain('a/a.txt');
    // The work is kept on the task branch, and b never started on top of an unchecked merge.
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm-task/recheck/a').split('\n')).toContain('a/a.txt');
    expect(conns.count('agent', 'a')).toBe(1);
    expect(conns.count('agent', 'b')).toBe(0);
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      expect(store.getTasks('recheck').map((t) => [t.task, t.state])).toEqual([
        ['a', 'failed'],
        ['b', 'blocked'],
      ]);
    } finally {
      store.close();
    }
  }, 60_000);
});
