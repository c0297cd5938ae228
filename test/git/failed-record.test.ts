import { afterEach, describe, expect, it } from 'vitest';
import { GitRunner } from '../../src/git/exec.js';
import { DETAIL_LIMIT, failedRecordMessage, failedRecordRef, readFailedRecords, writeFailedRecord } from '../../src/git/failed-record.js';
import { GIT_ENV, tempRepo, type TempRepo } from '../helpers/git-repo.js';

const repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

function repo(): { repo: TempRepo; runner: GitRunner; head: string } {
  const r = tempRepo({ 'README.md': '# test\n' });
  repos.push(r);
  return { repo: r, runner: new GitRunner(GIT_ENV), head: r.git('rev-parse', 'HEAD') };
}

describe('the failed record (refs/swarm/<run>/failed/<task>)', () => {
  it('is a commit on no branch, on its parent with its tree, and is read back from local refs', async () => {
    const { repo: r, runner, head } = repo();
    const detail = 'check `npm test` failed (exit 1):\n\n  FAIL  a.test.ts\n\n\n  expected 1 to be 2  \n';
    const sha = await writeFailedRecord(runner, r.dir, { run: 'ci', task: 'auth', hash: '0123456789abcdef', state: 'conflicted', detail }, head);
    expect(r.git('rev-parse', `${sha}^{tree}`)).toBe(r.git('rev-parse', 'HEAD^{tree}'));
    expect(r.git('rev-parse', `${sha}^@`)).toBe(head);
    expect(r.git('log', '-1', '--format=%B', sha)).toBe(
      [
        'swarm: task auth failed',
        '',
        'check `npm test` failed (exit 1):\n  FAIL  a.test.ts\n  expected 1 to be 2',
        '',
        'Swarm-Run: ci',
        'Swarm-Task: auth',
        'Swarm-Task-Hash: 0123456789abcdef',
        'Swarm-State: conflicted',
      ].join('\n'),
    );
    // git reads the same trailers.
    expect(r.git('log', '-1', '--format=%(trailers:key=Swarm-State,valueonly)', sha)).toBe('conflicted');
    expect(await readFailedRecords(runner, r.dir, 'ci')).toEqual(new Map());

    r.git('update-ref', failedRecordRef('ci', 'auth'), sha);
    expect(await readFailedRecords(runner, r.dir, 'ci')).toEqual(
      new Map([
        [
          'auth',
          {
            hash: '0123456789abcdef',
            state: 'conflicted',
            detail: 'check `npm test` failed (exit 1):\n  FAIL  a.test.ts\n  expected 1 to be 2',
            commit: sha,
            parent: head,
          },
        ],
      ]),
    );
    expect(await readFailedRecords(runner, r.dir, 'other')).toEqual(new Map());
  });

  it('keeps out what is not a record of that task, and cuts a long detail', async () => {
    const { repo: r, runner, head } = repo();
    // A plain commit, a record of another task under this name, another run's record.
    r.git('update-ref', failedRecordRef('ci', 'plain'), head);
    const other = await writeFailedRecord(runner, r.dir, { run: 'ci', task: 'b', hash: 'h', state: 'failed', detail: 'x' }, head);
    r.git('update-ref', failedRecordRef('ci', 'a'), other);
    const elsewhere = await writeFailedRecord(runner, r.dir, { run: 'ci2', task: 'c', hash: 'h', state: 'failed', detail: 'x' }, head);
    r.git('update-ref', failedRecordRef('ci', 'c'), elsewhere);
    const long = await writeFailedRecord(
      runner,
      r.dir,
      { run: 'ci', task: 'd', hash: 'h', state: 'failed', detail: `${'y'.repeat(5000)}\n\nSwarm-Task: a` },
      head,
    );
    r.git('update-ref', failedRecordRef('ci', 'd'), long);
    // A state the contract does not have.
    const weird = r.git(
      'commit-tree',
      'HEAD^{tree}',
      '-p',
      head,
      '-m',
      'swarm: task w failed\n\nx\n\nSwarm-Run: ci\nSwarm-Task: w\nSwarm-Task-Hash: h\nSwarm-State: running',
    );
    r.git('update-ref', failedRecordRef('ci', 'w'), weird);
    // A detail that reads like trailers (an agent's words end up in it) stays the detail.
    const forged = await writeFailedRecord(
      runner,
      r.dir,
      { run: 'ci', task: 'e', hash: 'h', state: 'failed', detail: 'oops\n\nSwarm-Task: a\nSwarm-Task-Hash: z' },
      head,
    );
    r.git('update-ref', failedRecordRef('ci', 'e'), forged);
    const read = await readFailedRecords(runner, r.dir, 'ci');
    expect([...read.keys()]).toEqual(['d', 'e']);
    expect(read.get('e')).toMatchObject({ hash: 'h', detail: 'oops\nSwarm-Task: a\nSwarm-Task-Hash: z' });
    expect(read.get('d')!.detail).toHaveLength(DETAIL_LIMIT);
    expect(read.get('d')!.detail.endsWith('y…')).toBe(true);
  });

  it('says something when the failure said nothing', () => {
    expect(failedRecordMessage({ run: 'r', task: 't', hash: 'h', state: 'failed', detail: ' \n\n' })).toContain('\n\n(no detail)\n\n');
  });
});
