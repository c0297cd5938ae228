import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/engine/ports.js';
import { foldRecord, recordedMerges } from '../../src/engine/record.js';

const rec = (task: string, patch: Partial<TaskRecord>): TaskRecord => ({
  run: 'r',
  task,
  state: 'pending',
  attempts: 0,
  hash: 'h0',
  costUsd: 0,
  turns: 0,
  ...patch,
});
const branchOf = (t: string) => `swarm-task/r/${t}`;

describe('the run record folded into what state.db knows', () => {
  const entries = [
    { landed: 'c3', run: 'r', task: 'a', hash: 'h2', commit: 't3' },
    { landed: 'c2', run: 'r', base: 'b1' },
    { landed: 'c1', run: 'r', task: 'a', hash: 'h1', commit: 't1' },
    { landed: 'c0', run: 'other', task: 'b', hash: 'h1', commit: 't0' },
    { landed: 'cx', run: 'r', task: 'gone', hash: 'h1', commit: 'tx' },
  ];

  it('keeps the newest landing of each task of this run only', () => {
    expect([...recordedMerges(entries, 'r').values()]).toEqual([
      { task: 'a', hash: 'h2', landed: 'c3', commit: 't3' },
      { task: 'gone', hash: 'h1', landed: 'cx', commit: 'tx' },
    ]);
  });

  it('a fresh clone: merged tasks come from git, with their hash and landed commit; unknown ids are ignored', () => {
    const tasks = new Map<string, TaskRecord>();
    expect(foldRecord('r', tasks, recordedMerges(entries, 'r'), new Set(['a', 'b']), branchOf)).toEqual(['a']);
    expect(tasks.get('a')).toMatchObject({ state: 'merged', hash: 'h2', mergedSha: 'c3', branch: 'swarm-task/r/a', attempts: 1 });
    expect(tasks.has('b')).toBe(false);
  });

  it('an older state.db: failed there but merged on the branch is merged; merged again since takes the newer hash', () => {
    const tasks = new Map([
      ['a', rec('a', { state: 'merged', hash: 'h1', mergedSha: 'c1', attempts: 2 })],
      ['gone', rec('gone', { state: 'failed', attempts: 3, branch: 'kept' })],
    ]);
    expect(foldRecord('r', tasks, recordedMerges(entries, 'r'), new Set(['a', 'gone']), branchOf, new Set(['a']))).toEqual(['gone']);
    expect(tasks.get('a')).toMatchObject({ state: 'merged', hash: 'h2', mergedSha: 'c3', attempts: 2 });
    expect(tasks.get('gone')).toMatchObject({ state: 'merged', hash: 'h1', mergedSha: 'cx', attempts: 3, branch: 'kept' });
  });

  it('a store newer than the record (a merge that changed nothing leaves no commit) keeps its own', () => {
    const tasks = new Map([['a', rec('a', { state: 'merged', hash: 'h9', mergedSha: 'c9' })]]);
    expect(foldRecord('r', tasks, recordedMerges(entries, 'r'), new Set(['a']), branchOf)).toEqual([]);
    expect(tasks.get('a')).toMatchObject({ hash: 'h9', mergedSha: 'c9' });
  });

  it('a task that passed its check when its runner stopped is left to the crash recovery', () => {
    const tasks = new Map([['a', rec('a', { state: 'queued', attempts: 1 })]]);
    expect(foldRecord('r', tasks, recordedMerges(entries, 'r'), new Set(['a']), branchOf)).toEqual([]);
    expect(tasks.get('a')?.state).toBe('queued');
  });
});
