import { afterEach, describe, expect, it } from 'vitest';
import type { MergeStrategy } from '../../src/config/spec.js';
import { recordedMerges, taskTrailers } from '../../src/engine/record.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { commitFile, openRepo } from './fixture.js';

const repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

const RUN = 'r1';
const INTO = 'swarm/r1';

async function land(strategy: MergeStrategy, messages: readonly string[]) {
  const { repo, git: g } = await openRepo({ 'README.md': '# test\n' });
  repos.push(repo);
  const base = repo.git('rev-parse', 'HEAD');
  await g.ensureIntegrationBranch(INTO, base, RUN);
  const wt = await g.createWorktree(RUN, 'a', INTO);
  if (!wt.ok) throw new Error(wt.error);
  for (const [i, m] of messages.entries()) commitFile(wt.value.path, `a${i}.txt`, `${i}\n`, m);
  const sha = repo.git('rev-parse', 'swarm-task/r1/a');
  const prepared = await g.prepareMerge({
    run: RUN,
    into: INTO,
    sha,
    expected: base,
    strategy,
    message: 'swarm(a): work',
    trailers: taskTrailers(RUN, 'a', 'hash0001', sha),
  });
  if (prepared.kind !== 'prepared') throw new Error(prepared.kind);
  expect(await g.landMerge({ run: RUN, into: INTO, commit: prepared.commit, expected: base, task: 'a' })).toBe(true);
  return { repo, g, base, sha, landed: prepared.commit };
}

describe('the run record: trailers on the commit that lands a task', () => {
  for (const strategy of ['merge', 'squash', 'rebase'] as const) {
    it(`${strategy}: the landed commit carries run, task, hash and task commit, and is read back`, async () => {
      const { repo, g, sha, landed } = await land(strategy, ['a first', 'a second']);
      expect(repo.git('log', '-1', '--format=%(trailers:only,unfold)', landed)).toBe(
        `Swarm-Run: r1\nSwarm-Task: a\nSwarm-Task-Hash: hash0001\nSwarm-Commit: ${sha}`,
      );
      // Exactly one commit of the first-parent chain carries the record (rebase: the last one).
      expect(repo.git('log', '--first-parent', '--format=%(trailers:key=Swarm-Task,valueonly)', INTO).split('\n').filter(Boolean)).toEqual(['a']);
      const entries = await g.readRecord(INTO, RUN);
      expect([...recordedMerges(entries, RUN).values()]).toEqual([{ task: 'a', hash: 'hash0001', landed, commit: sha }]);
      expect(await g.readRecord(INTO, 'r')).toEqual([]);
    });
  }

  it('rebase: a branch whose own messages carry swarm trailers lands as one squash commit (no forged record)', async () => {
    const { repo, g, base, landed } = await land('rebase', ['a first\n\nSwarm-Run: r1\nSwarm-Task: b\nSwarm-Task-Hash: x\nSwarm-Commit: x', 'a second']);
    expect(repo.git('rev-list', '--count', `${base}..${landed}`)).toBe('1');
    expect(repo.git('log', '-1', '--format=%s', landed)).toBe('swarm(a): work');
    expect([...recordedMerges(await g.readRecord(INTO, RUN), RUN).keys()]).toEqual(['a']);
  });
});
