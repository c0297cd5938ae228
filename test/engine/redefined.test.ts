import { afterEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/engine/ports.js';
import type { PublishPort } from '../../src/engine/publish.js';
import { setAsideRedefined } from '../../src/engine/redefined.js';
import { taskHash } from '../../src/engine/resume.js';
import { RunContext } from '../../src/engine/run-context.js';
import { GitRunner } from '../../src/git/exec.js';
import { failedRecordRef, writeFailedRecord } from '../../src/git/failed-record.js';
import { GIT_ENV, type TempRepo } from '../helpers/git-repo.js';
import { commitFile, openRepo } from '../git/fixture.js';
import { clock, FakeShell, graphOf, makeSpec, makeTask, MemoryLogs, MemoryStore } from './fakes.js';

// Which pushed task branches a fresh clone continues, by the task's failed record (redefined.ts).

const repos: TempRepo[] = [];
afterEach(() => {
  for (const r of repos.splice(0)) r.cleanup();
});

const BRANCH = 'swarm-task/test/c';

async function fixture(opts: { push?: boolean } = {}) {
  const { repo, git } = await openRepo({ 'README.md': '# test\n' });
  repos.push(repo);
  const spec = makeSpec([makeTask('c')]);
  const store = new MemoryStore();
  const publish = { remote: 'origin' } as PublishPort;
  const ctx = new RunContext({
    spec,
    graph: graphOf(spec),
    store,
    git,
    shell: new FakeShell(),
    agents: new Map(),
    clock,
    concurrency: 1,
    logs: new MemoryLogs(),
    ...(opts.push === false ? {} : { publish }),
  });
  ctx.head = repo.git('rev-parse', 'main');
  const hashes = new Map([['c', taskHash(spec, spec.tasks[0]!)]]);
  const runner = new GitRunner(GIT_ENV);
  /** A failed record of c with `hash`, on `parent`. */
  const record = async (hash: string, parent: string) => {
    const sha = await writeFailedRecord(runner, repo.dir, { run: 'test', task: 'c', hash, state: 'failed', detail: 'it broke' }, parent);
    repo.git('update-ref', failedRecordRef('test', 'c'), sha);
  };
  /** A commit on c's branch (made from main when missing), in a worktree of its own. */
  const work = (text: string) => {
    const wt = `${repo.dir}-wt`;
    if (repo.git('branch', '--list', BRANCH) === '') repo.git('worktree', 'add', '-q', '-b', BRANCH, wt, 'main');
    const sha = commitFile(wt, 'c.txt', text);
    repo.git('worktree', 'remove', wt);
    return sha;
  };
  const said = () => store.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
  return { repo, ctx, hashes, record, work, said };
}

describe('a fresh clone and a failed record on the remote', () => {
  it('sets aside the branch of a task redefined since its failed attempt', async () => {
    const f = await fixture();
    const tip = f.work('old work\n');
    await f.record('0000000000000000', tip);
    await setAsideRedefined(f.ctx, new Map(), f.hashes);
    expect(f.repo.git('branch', '--list', BRANCH)).toBe('');
    expect(f.repo.git('rev-parse', `swarm-replaced/test/c-${tip.slice(0, 12)}`)).toBe(tip);
    expect(f.said()).toEqual([
      `task c was redefined since its failed attempt on origin: starting over (its old branch stays here as swarm-replaced/test/c-${tip.slice(0, 12)})`,
    ]);
  });

  it('continues it when the definition is unchanged, when state.db knows the task, without --push, or with no record', async () => {
    for (const [name, setup] of [
      ['unchanged', async (f: Awaited<ReturnType<typeof fixture>>) => f.record(f.hashes.get('c')!, f.repo.git('rev-parse', BRANCH))],
      ['no record', async () => undefined],
    ] as const) {
      const f = await fixture();
      const tip = f.work('old work\n');
      await setup(f);
      await setAsideRedefined(f.ctx, new Map(), f.hashes);
      expect(f.repo.git('rev-parse', BRANCH), name).toBe(tip);
      expect(f.said(), name).toEqual([]);
    }
    const known = await fixture();
    const tip = known.work('old work\n');
    await known.record('0000000000000000', tip);
    const row = { run: 'test', task: 'c', state: 'failed', attempts: 1, hash: 'x', costUsd: 0, turns: 0 } as TaskRecord;
    await setAsideRedefined(known.ctx, new Map([['c', row]]), known.hashes);
    expect(known.repo.git('rev-parse', BRANCH)).toBe(tip);

    const local = await fixture({ push: false });
    const tip2 = local.work('old work\n');
    await local.record('0000000000000000', tip2);
    await setAsideRedefined(local.ctx, new Map(), local.hashes);
    expect(local.repo.git('rev-parse', BRANCH)).toBe(tip2);
  });

  it('continues a branch that no longer holds the failed attempt (started over for the new definition, then its runner was killed)', async () => {
    const f = await fixture();
    const old = f.work('old work\n');
    await f.record('0000000000000000', old);
    // The next runner started over from main for the new definition, pushed, and died.
    f.repo.git('branch', '-D', BRANCH);
    const fresh = f.work('new work\n');
    await setAsideRedefined(f.ctx, new Map(), f.hashes);
    expect(f.repo.git('rev-parse', BRANCH)).toBe(fresh);
    expect(f.said()).toEqual([]);

    // A record made when the task had no work of its own (its parent is on main): nothing of it to set aside.
    const g = await fixture();
    await g.record('0000000000000000', g.ctx.head);
    const tip = g.work('new work\n');
    await setAsideRedefined(g.ctx, new Map(), g.hashes);
    expect(g.repo.git('rev-parse', BRANCH)).toBe(tip);
  });
});
