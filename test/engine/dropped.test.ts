import { describe, expect, test } from 'vitest';
import type { Spec, TaskSpec } from '../../src/config/spec.js';
import { droppedTasks } from '../../src/engine/dropped.js';
import type { TaskRecord } from '../../src/engine/ports.js';
import type { TaskState } from '../../src/engine/task-state.js';

const rec = (task: string, state: TaskState, attempts = 0): TaskRecord => ({ run: 'r', task, state, attempts, hash: 'h', costUsd: 0, turns: 0 });
const task = (id: string, template?: string): TaskSpec =>
  ({ id, ...(template === undefined ? {} : { template: { id: template, matches: [id] } }) }) as TaskSpec;

describe('droppedTasks: what a re-run drops when a match is gone', () => {
  const spec = {
    tasks: [task('prep'), task('migrate.a', 'migrate'), task('lint-a', 'lint')],
    templates: [
      { id: 'migrate', source: 'dirs', tasks: ['migrate.a'] },
      { id: 'lint', source: 'dirs', tasks: ['lint-a'] },
    ],
  } as unknown as Spec;

  test('a template task that never merged and is no longer made; not merged ones, not plain tasks, not tasks still made', () => {
    const previous = new Map(
      [
        rec('prep', 'failed', 1),
        rec('migrate.a', 'pending'),
        rec('migrate.gone', 'pending'),
        rec('migrate.failed', 'failed', 2),
        rec('migrate.done', 'merged', 1),
        rec('lint-old', 'pending'),
        rec('linter', 'pending'),
        rec('removed-by-hand', 'pending'),
      ].map((r) => [r.task, r]),
    );
    expect(droppedTasks(spec, previous)).toEqual(['lint-old', 'migrate.failed', 'migrate.gone']);
  });

  test('a file without templates drops nothing', () => {
    expect(droppedTasks({ tasks: [task('a')] } as unknown as Spec, new Map([['b', rec('b', 'pending')]]))).toEqual([]);
  });
});
