import { describe, expect, it } from 'vitest';
import { escapes } from '../../src/hooks/links.js';

describe('a symlink escapes the repository', () => {
  it.each([
    ['x', '/etc/passwd', true],
    ['x', '..', true],
    ['x', '../sibling/file', true],
    ['a/b/x', '../../../etc', true],
    ['a/x', 'b/../../../y', true],
    ['x', 'C:\\Windows', true],
    ['x', 'README.md', false],
    ['a/x', '../README.md', false],
    ['a/b/x', '../../c/d', false],
    ['x', '.', false],
    ['a/x', 'b/../c', false],
  ])('%s -> %s: %s', (path, target, expected) => {
    expect(escapes(path, target)).toBe(expected);
  });
});
