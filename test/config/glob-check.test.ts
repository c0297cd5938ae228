import { expect, test } from 'vitest';
import { didYouMean } from '../../src/config/did-you-mean.js';
import { globProblem } from '../../src/config/glob-check.js';

test.each([
  ['src/**', undefined],
  ['src/*.{ts,tsx}', undefined],
  ['src/[ab]/*.ts', undefined],
  ['packages/*/src/**/*.test.ts', undefined],
  ['+(a|b)/**', undefined],
  ['src/\\[literal\\]', undefined],
  ['docs/my file.md', undefined],
  ['/etc/passwd', 'is an absolute path; globs are relative to the repository root'],
  ['C:/src/**', 'is an absolute path; globs are relative to the repository root'],
  ['../other/**', 'has a ".." segment; globs must stay inside the repository'],
  ['a/../../b', 'has a ".." segment; globs must stay inside the repository'],
  ['!src/**', 'is negated; list the files the task owns instead'],
  [' src/**', 'has leading or trailing spaces'],
  ['src\\api\\*.ts', 'contains "\\"; use "/" between folders'],
  ['src/[ab', 'has an unclosed "[" (write "\\[" for the character itself)'],
  ['src/{a,b', 'has an unclosed "{" (write "\\{" for the character itself)'],
  ['src/@(a|b', 'has an unclosed "(" (write "\\(" for the character itself)'],
  [`src/${'a'.repeat(5000)}`, 'is longer than 4096 characters'],
])('glob %j', (glob, problem) => {
  expect(globProblem(glob)).toBe(problem);
});

test.each([
  ['dependson', ['depends_on', 'id', 'files'], 'depends_on'],
  ['dependsOn', ['depends_on', 'id'], 'depends_on'],
  ['promt', ['prompt', 'prompt_file'], 'prompt'],
  ['concurency', ['concurrency', 'check'], 'concurrency'],
  ['zzz', ['prompt', 'files'], undefined],
  ['c', ['b'], undefined],
  ['ba', ['ab', 'xy'], 'ab'],
])('did you mean: %s', (word, candidates, best) => {
  expect(didYouMean(word, candidates)).toBe(best);
});
