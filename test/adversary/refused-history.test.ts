import { afterEach, describe, expect, it } from 'vitest';
import { arena, events, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('a change the audit refused, then undone on the retry', () => {
  for (const strategy of ['merge', 'rebase'] as const) {
    it(`${strategy}: never enters the integration history; the task lands as one squash commit and the log says why`, async () => {
      a = arena();
      // Attempt 1 commits a file outside its globs (the audit refuses); attempt 2 takes it back.
      const agent = a.script(
        'agent.sh',
        [
          'if [ "$SWARM_ATTEMPT" = 1 ]; then',
          '  echo secret > outside.txt; echo one > a.txt',
          '  git add -A; git commit -q --no-verify -m "attempt 1, out of bounds"',
          'else',
          '  git rm -q outside.txt; echo two > a.txt',
          '  git commit -q --no-verify -am "attempt 2, undo"',
          'fi',
        ].join('\n'),
      );
      a.spec([
        'version: 1',
        'name: rh',
        'retries: 1',
        'lease:',
        '  enforce: block',
        'merge:',
        `  strategy: ${strategy}`,
        'agent:',
        '  kind: command',
        `  command: ${JSON.stringify(['sh', agent])}`,
        'tasks:',
        '  - id: a',
        '    prompt: Do a.',
        '    files: ["a.txt"]',
      ]);
      const base = a.repo.git('rev-parse', 'HEAD');
      const result = await a.run();
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(a.repo.git('show', 'swarm/rh:a.txt')).toBe('two');
      // No commit reachable from the integration branch ever held outside.txt.
      expect(a.repo.git('log', '--format=%H', 'swarm/rh', '--', 'outside.txt')).toBe('');
      expect(a.repo.git('rev-list', `${base}..swarm/rh`).split('\n')).toHaveLength(1);
      expect(mergedTasks(a.repo, base, 'swarm/rh')).toEqual(['a']);
      const log = events(result.stdout).find((e) => e.type === 'log' && e.message.includes('merged as one squash commit'));
      expect(log).toBeDefined();
      // The refused commit is still on the task branch, for whoever wants to look.
      expect(a.repo.git('log', '--format=%s', 'swarm-task/rh/a')).toContain('attempt 1, out of bounds');
    }, 60_000);
  }
});
