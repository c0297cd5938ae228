import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { checkoutSnapshot } from '../helpers/snapshot.js';
import { arena, commandSpec, mergedTasks, readLines, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

const POINTS = ['merge:prepared', 'merge:intent', 'merge:checked', 'merge:landed', 'merge:recorded'] as const;

describe('the runner killed at every named point of a merge, then run again', () => {
  for (const point of POINTS) {
    it(`${point}: every task merged exactly once, and every merge on the branch was checked`, async () => {
      a = arena();
      const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"');
      const checked = `${a.scratch}/checked.log`;
      // merge.check records the commit it judged: a merge on the branch must be among them.
      const check = a.script('check.sh', `git rev-parse HEAD >> "${checked}"`);
      a.spec(
        commandSpec({ name: 'crash', agent, top: ['concurrency: 1'], tail: ['merge:', `  check: sh ${check}`], tasks: ['a', { id: 'b', dependsOn: ['a'] }] }),
      );
      const base = a.repo.git('rev-parse', 'HEAD');
      const before = checkoutSnapshot(a.repo.dir);

      const crashed = await a.run([], { SWARM_TEST_CRASH_AT: point });
      expect(crashed.signal).toBe('SIGKILL');
      const resumed = await a.run();
      expect(resumed.exitCode, String(resumed.stderr)).toBe(0);

      expect(mergedTasks(a.repo, base, 'swarm/crash')).toEqual(['a', 'b']);
      const onBranch = a.repo.git('rev-list', '--first-parent', `${base}..swarm/crash`).split('\n');
      const judged = new Set(readLines(checked));
      for (const sha of onBranch) expect(judged.has(sha), `merge ${sha} was never checked`).toBe(true);
      expect(a.repo.git('show', 'swarm/crash:a.txt')).toBe('a');
      expect(a.repo.git('show', 'swarm/crash:b.txt')).toBe('b');
      expect(checkoutSnapshot(a.repo.dir)).toBe(before);
      const store = openStore(`${a.repo.dir}/.swarm/state.db`);
      try {
        expect(store.getRun('crash')?.headSha).toBe(a.repo.git('rev-parse', 'swarm/crash'));
        expect(store.getTasks('crash').map((t) => [t.task, t.state, t.mergeBase])).toEqual([
          ['a', 'merged', undefined],
          ['b', 'merged', undefined],
        ]);
      } finally {
        store.close();
      }
    }, 60_000);
  }
});
