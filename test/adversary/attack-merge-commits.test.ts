import { afterEach, describe, expect, it } from 'vitest';
import { arena, events, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('a refused change hidden in a merge commit of the task branch, taken back by another merge commit', () => {
  it('never enters the integration history: the task lands as one squash commit', async () => {
    a = arena();
    // Attempt 1: a merge commit whose own tree adds outside.txt (no plain commit touches it);
    // the audit refuses. Attempt 2: another merge commit drops it again; the diff is clean,
    // and a history walk that skips merge commits finds nothing to hide.
    const agent = a.script(
      'agent.sh',
      [
        'if [ "$SWARM_ATTEMPT" = 1 ]; then',
        '  echo one > a.txt; git add a.txt; git commit -q -m "a work"',
        '  echo secret > outside.txt; git add outside.txt',
        '  git reset -q --hard "$(git commit-tree "$(git write-tree)" -p HEAD -p HEAD~1 -m "merge that hides a change")"',
        'else',
        '  git rm -q outside.txt',
        '  git reset -q --hard "$(git commit-tree "$(git write-tree)" -p HEAD -p HEAD^1 -m "merge that takes it back")"',
        'fi',
      ].join('\n'),
    );
    a.spec([
      'version: 1',
      'name: mc',
      'retries: 1',
      'lease:',
      '  enforce: block',
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
    const audit = events(result.stdout).filter((e) => e.type === 'lease' && e.reason === 'violation');
    expect(audit).toEqual([expect.objectContaining({ task: 'a', path: 'outside.txt', where: 'audit' })]);
    expect(a.repo.git('show', 'swarm/mc:a.txt')).toBe('one');
    // No commit reachable from the integration branch holds outside.txt in its tree.
    for (const sha of a.repo.git('rev-list', 'swarm/mc').split('\n')) {
      expect(a.repo.git('ls-tree', '--name-only', sha), `commit ${sha}`).not.toContain('outside.txt');
    }
    expect(mergedTasks(a.repo, base, 'swarm/mc')).toEqual(['a']);
    expect(a.repo.git('rev-list', `${base}..swarm/mc`).split('\n')).toHaveLength(1);
    // The refused merge stays on the task branch only.
    expect(a.repo.git('log', '--format=%s', 'swarm-task/mc/a')).toContain('merge that hides a change');
  }, 30_000);
});
