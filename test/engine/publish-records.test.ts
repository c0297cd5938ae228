import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type PublishCallbacks, Publisher } from '../../src/engine/publish.js';
import { Remote } from '../../src/git/remote.js';
import { git, tempRepo, type TempRepo } from '../helpers/git-repo.js';

// The publisher against a real bare remote, without an engine: what goes out, and when.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup(): Promise<{ repo: TempRepo; origin: string; publisher: () => Promise<Publisher> }> {
  const repo = tempRepo({ 'README.md': '# test\n' });
  const origin = mkdtempSync(join(tmpdir(), 'swarm-origin-'));
  cleanups.push(
    () => repo.cleanup(),
    () => rmSync(origin, { recursive: true, force: true }),
  );
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  repo.git('remote', 'add', 'origin', origin);
  repo.git('push', '-q', 'origin', 'main');
  const publisher = async () => {
    const remote = await Remote.open(repo.dir, 'origin');
    if (!remote.ok) throw new Error(remote.error);
    const p = new Publisher({
      remote: remote.value,
      run: 'ci',
      into: 'swarm/ci',
      branchOf: (t) => `swarm-task/ci/${t}`,
      clock: { now: () => Date.now() },
      intervalMs: 50,
    });
    const synced = await p.sync();
    if (!synced.ok) throw new Error(synced.error);
    return p;
  };
  return { repo, origin, publisher };
}

/** A commit on `branch` (made from main when it does not exist), without checking it out. */
function commitOn(repo: TempRepo, branch: string, text: string): string {
  const parent = refOn(repo.dir, `refs/heads/${branch}`) || repo.git('rev-parse', 'main');
  const sha = repo.git('commit-tree', `${parent}^{tree}`, '-p', parent, '-m', text);
  repo.git('update-ref', `refs/heads/${branch}`, sha);
  return sha;
}

function refOn(dir: string, ref: string): string {
  return git(dir, 'for-each-ref', '--format=%(objectname)', ref);
}

async function until(what: string, test: () => boolean): Promise<void> {
  for (const end = Date.now() + 10_000; !test(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function callbacks(): PublishCallbacks & { said: string[] } {
  const said: string[] = [];
  return { said, refused: (m) => said.push(`refused: ${m}`), warn: (m) => said.push(`warn: ${m}`) };
}

describe('Publisher: failed records and running tasks', () => {
  it("a failed task's branch, then its record; replaced by compare-and-swap, refused when someone else moved it", async () => {
    const { repo, origin, publisher } = await setup();
    const main = repo.git('rev-parse', 'main');
    const tip = commitOn(repo, 'swarm-task/ci/a', 'work of a');
    const p = await publisher();
    const on = callbacks();
    p.taskFailed({ task: 'a', state: 'failed', detail: 'it broke', hash: 'h1' }, main, on);
    await until('the record', () => refOn(origin, 'refs/swarm/ci/failed/a') !== '');
    expect(refOn(origin, 'refs/heads/swarm-task/ci/a')).toBe(tip);
    const first = refOn(origin, 'refs/swarm/ci/failed/a');
    expect(git(origin, 'rev-parse', `${first}^`)).toBe(tip);
    // Mirrored here, where the reader looks.
    await until('the local mirror', () => refOn(repo.dir, 'refs/swarm/ci/failed/a') === first);

    // A retry fails again: the record is replaced over the one swarm pushed.
    p.taskFailed({ task: 'a', state: 'conflicted', detail: 'again', hash: 'h1' }, main, on);
    await until('the second record', () => refOn(origin, 'refs/swarm/ci/failed/a') !== first);
    expect(git(origin, 'log', '-1', '--format=%(trailers:key=Swarm-State,valueonly)', 'refs/swarm/ci/failed/a')).toBe('conflicted');

    // Someone else moves it: the next push is refused, and says which ref and what it expected.
    const second = refOn(origin, 'refs/swarm/ci/failed/a');
    git(origin, 'update-ref', 'refs/swarm/ci/failed/a', main);
    p.taskFailed({ task: 'a', state: 'failed', detail: 'third', hash: 'h1' }, main, on);
    await until('the refusal', () => on.said.length > 0);
    expect(on.said).toHaveLength(1);
    expect(on.said[0]).toContain(
      `refused: --push: origin refused refs/swarm/ci/failed/a: swarm pushes only over what it last saw there (${second.slice(0, 12)})`,
    );
    expect(refOn(origin, 'refs/swarm/ci/failed/a')).toBe(main);
    expect(await p.finish(undefined, [])).toBe(on.said[0]!.slice('refused: '.length));
  });

  it("a merged task's record goes with the integration push that holds its merge, before the run ends", async () => {
    const { repo, origin, publisher } = await setup();
    const main = repo.git('rev-parse', 'main');
    commitOn(repo, 'swarm-task/ci/a', 'work of a');
    const first = await publisher();
    first.taskFailed({ task: 'a', state: 'failed', detail: 'it broke', hash: 'h1' }, main, callbacks());
    expect(await first.finish(undefined, [])).toBeUndefined();
    expect(refOn(origin, 'refs/swarm/ci/failed/a')).not.toBe('');

    // Another runner: a fresh clone would fetch it the same way.
    repo.git('update-ref', '-d', 'refs/swarm/ci/failed/a');
    const p = await publisher();
    expect(refOn(repo.dir, 'refs/swarm/ci/failed/a')).toBe(refOn(origin, 'refs/swarm/ci/failed/a'));
    const merge = repo.git('commit-tree', 'main^{tree}', '-p', 'main', '-p', 'swarm-task/ci/a', '-m', 'swarm(a): merged');
    repo.git('update-ref', 'refs/heads/swarm/ci', merge);
    const on = callbacks();
    p.taskMerged('a', merge);
    p.landed(merge, on.refused);
    await until('the record to go', () => refOn(origin, 'refs/swarm/ci/failed/a') === '');
    expect(refOn(origin, 'refs/heads/swarm/ci')).toBe(merge);
    await until('the local mirror to go', () => refOn(repo.dir, 'refs/swarm/ci/failed/a') === '');
    expect(await p.finish(merge, [], ['a'])).toBeUndefined();
    expect(on.said).toEqual([]);
  });

  it('the branches of tasks at work go out at the interval, when they moved and hold work beyond the head', async () => {
    const { repo, origin, publisher } = await setup();
    const main = repo.git('rev-parse', 'main');
    const p = await publisher();
    const on = callbacks();
    repo.git('update-ref', 'refs/heads/swarm-task/ci/b', main);
    p.follow(() => ({ head: main, tasks: ['a', 'b'] }), on);
    const one = commitOn(repo, 'swarm-task/ci/a', 'one');
    await until('a', () => refOn(origin, 'refs/heads/swarm-task/ci/a') === one);
    const two = commitOn(repo, 'swarm-task/ci/a', 'two');
    await until('a again', () => refOn(origin, 'refs/heads/swarm-task/ci/a') === two);
    // b holds nothing beyond the head: not pushed.
    expect(refOn(origin, 'refs/heads/swarm-task/ci/b')).toBe('');
    expect(await p.finish(undefined, [])).toBeUndefined();
    const three = commitOn(repo, 'swarm-task/ci/a', 'three');
    await new Promise((r) => setTimeout(r, 200));
    expect(refOn(origin, 'refs/heads/swarm-task/ci/a')).toBe(two);
    expect(three).not.toBe(two);
    expect(on.said).toEqual([]);
  });
});

describe('a push that fails for another reason than a lost race', () => {
  it("is not taken for someone else's push: later pushes go on, and the end reports what did not go out", async () => {
    const { repo, origin, publisher } = await setup();
    const p = await publisher();
    const { renameSync } = await import('node:fs');
    const head = commitOn(repo, 'swarm/ci', 'a merge');
    renameSync(origin, `${origin}.away`);
    const refusals: string[] = [];
    p.landed(head, (m) => refusals.push(m));
    await new Promise((r) => setTimeout(r, 400));
    expect(refusals).toEqual([]);
    // Still away at the end: the run is told, and not that someone else pushed.
    const atEnd = await p.finish(head, []);
    expect(atEnd).toMatch(/^--push: could not push swarm\/ci to origin \(git: .*\); the work is on the local branches: run again to push it$/);
    // Back: the next end pushes over what was last seen, as a compare-and-swap that still holds.
    renameSync(`${origin}.away`, origin);
    const q = await publisher();
    expect(await q.finish(head, [])).toBeUndefined();
    expect(refOn(origin, 'refs/heads/swarm/ci')).toBe(head);
  });
});
