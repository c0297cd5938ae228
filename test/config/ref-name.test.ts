import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { branchNameProblem, ID_PATTERN, idProblem, refRuleBroken } from '../../src/config/ref-name.js';

// swarm checks ref names in code (no git process per name); git itself is the judge here.
// Outside any repository: inside one, --branch expands "@" and "@{-1}" to a branch it finds.
const gitAccepts = (name: string): boolean => spawnSync('git', ['check-ref-format', '--branch', name], { cwd: tmpdir(), encoding: 'utf8' }).status === 0;

const NAMES = [
  'main',
  'swarm/api',
  'feature/x-1',
  'a.b',
  'release/1.2.3',
  'x_y',
  'UPPER',
  'a@b',
  'ünï',
  '',
  '@',
  '-x',
  '/a',
  'a/',
  'a//b',
  'a..b',
  'a.',
  'x.lock',
  'a/x.lock/b',
  'a/.b',
  '.a',
  'a@{1}',
  'a b',
  'a~1',
  'a^',
  'a:b',
  'a?',
  'a*',
  'a[b',
  'a\\b',
  'tab\there',
  'del\x7f',
];

describe('ref names, as git check-ref-format --branch judges them', () => {
  it.each(NAMES)('%j', (name) => {
    expect(refRuleBroken(name) === undefined).toBe(gitAccepts(name));
  });

  it('every id the id pattern accepts is a branch git accepts, in swarm-task/<run>/<task> too', () => {
    for (const id of ['a', 'a.b', 'a-b_c', 'x.locks', 'lock', '0.1.2', 'a..b', 'x.lock', 'a.', 'a.lock.b']) {
      if (!ID_PATTERN.test(id)) continue;
      expect(gitAccepts(`swarm-task/${id}/${id}`)).toBe(true);
      expect(gitAccepts(`swarm/${id}`)).toBe(true);
    }
    expect(['a..b', 'x.lock', 'a.'].map((id) => idProblem('task id', id) === undefined)).toEqual([false, false, false]);
  });

  it('into: refuses names git resolves first, full refs and the task branches folder', () => {
    expect(branchNameProblem('swarm/api')).toBeUndefined();
    for (const name of ['@', 'HEAD', 'FETCH_HEAD', 'ORIG_HEAD', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'refs/heads/x', 'swarm-task', 'swarm-task/x']) {
      expect(branchNameProblem(name)).toBeDefined();
    }
  });
});
