import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { compileGlob, expandBraces, normalizeGlob, toAlternative } from '../../src/graph/glob-pattern.js';
import { globSetsOverlap, globsOverlap, ownsEverything } from '../../src/graph/overlap.js';

// [a, b, overlap?, why]
const PAIRS: readonly (readonly [string, string, boolean, string])[] = [
  ['src/**', 'src/api/*.ts', true, 'globstar covers a deeper pattern'],
  ['src/a/*.ts', 'src/b/*.ts', false, 'literal segments differ'],
  ['**/*.test.ts', 'src/x.test.ts', true, 'leading globstar'],
  ['*.md', 'docs/*.md', false, 'different depth'],
  ['src/**', 'src', true, 'globstar matches no segment'],
  ['src/**', 'lib/**', false, 'different roots'],
  ['*.ts', '*.js', false, 'different extensions'],
  ['*.t?', '*.ts', true, 'question mark against a letter'],
  ['a*b', '*c', false, 'suffixes differ'],
  ['a*', '*b', true, 'ab is matched by both'],
  ['[abc].ts', 'd.ts', false, 'class without d'],
  ['[^a].ts', 'a.ts', false, 'negated class'],
  ['[^a].ts', 'b.ts', true, 'negated class admits b'],
  ['[!a].ts', 'a.ts', true, 'picomatch reads [!a] as "! or a"'],
  ['[a-f]*.ts', '[x-z]*.ts', false, 'disjoint ranges'],
  ['src/{a,b}/*.ts', 'src/b/x.ts', true, 'brace alternative'],
  ['src/{a,b}/*.ts', 'src/c/x.ts', false, 'no brace alternative fits'],
  ['src/{a,b/c}/x', 'src/b/c/x', true, 'brace alternative with a slash'],
  ['file{1..3}.ts', 'file2.ts', true, 'numeric range'],
  ['file{1..3}.ts', 'file4.ts', false, 'outside the range'],
  ['src/@(a|b)/**', 'src/b/x', true, 'extglob alternative'],
  ['src/@(a|b)/**', 'src/c/x', false, 'extglob alternatives exhausted'],
  ['src/!(a)/**', 'src/b/x', true, 'negated extglob'],
  ['src/+(a|b).ts', 'src/abba.ts', true, 'repeat extglob (approximated by *)'],
  ['.', 'x/y', true, 'dot is the whole tree'],
  ['./src/**', 'src/x', true, 'leading ./ is ignored'],
  ['docs/', 'docs/a/b.md', true, 'trailing slash is everything below'],
  ['src/**/test/*.ts', 'src/test/a.ts', true, 'inner globstar matches nothing'],
  ['src/**/test/*.ts', 'src/a/b.ts', false, 'inner globstar still needs test/'],
  ['**/a/**', '**/b/**', true, 'a/b/... is matched by both'],
  ['a/**/b', 'a/c', false, 'b is required last'],
  ['**/*.snap', 'src/**/*.ts', false, 'extensions differ at any depth'],
  ['packages/*/src/**', 'packages/web/src/app.ts', true, 'star segment against a literal'],
  ['packages/*/src/**', 'packages/web/test/app.ts', false, 'literal after the star differs'],
  ['.github/**', '**/*.yml', true, 'dotfiles count'],
  ['src/\\*.ts', 'src/a.ts', false, 'escaped star is literal'],
  ['src/\\*.ts', 'src/*.ts', true, 'escaped star is matched by a star'],
  ['*', '**', true, 'everything meets everything'],
  ['*', 'a/b', false, 'one segment against two'],
];

describe('globsOverlap', () => {
  for (const [a, b, expected, why] of PAIRS) {
    it(`${a} vs ${b}: ${expected ? 'conflict' : 'disjoint'} (${why})`, () => {
      expect(globsOverlap(a, b)).toBe(expected);
      expect(globsOverlap(b, a)).toBe(expected);
    });
  }

  it('never misses an overlap picomatch can witness (randomized, both directions)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const segs = ['a', 'b', 'ab', '*', '**', '*.ts', 'a*', '*b', '?', '[ab]', '[!a]*', '[^a]*', '{a,b}', 'x{a,b}', '@(a|ab)', '.d'];
    const names = ['a', 'b', 'ab', 'ba', 'x.ts', 'a.ts', 'xa', 'xb', '.d', 'c', 'abb'];
    const glob = () => Array.from({ length: 1 + rand(3) }, () => segs[rand(segs.length)]!).join('/');
    const paths: string[] = [];
    for (let i = 0; i < 400; i++) paths.push(Array.from({ length: 1 + rand(4) }, () => names[rand(names.length)]!).join('/'));
    let witnessed = 0;
    for (let i = 0; i < 3000; i++) {
      const a = glob();
      const b = glob();
      const ma = picomatch(a, { dot: true });
      const mb = picomatch(b, { dot: true });
      const witness = paths.find((p) => ma(p) && mb(p));
      if (witness !== undefined) {
        witnessed++;
        expect(globsOverlap(a, b), `${a} vs ${b} both match ${witness}`).toBe(true);
        expect(globsOverlap(b, a), `${b} vs ${a} both match ${witness}`).toBe(true);
      }
    }
    expect(witnessed).toBeGreaterThan(150);
  });
});

describe('globSetsOverlap', () => {
  it('is true when any pair overlaps', () => {
    expect(globSetsOverlap(['docs/**', 'src/a/*.ts'], ['src/*/x.ts'])).toBe(true);
    expect(globSetsOverlap(['docs/**', 'src/a/*.ts'], ['src/b/**', 'lib/**'])).toBe(false);
  });

  it('counts a tracked file matched by both sets, and only then', () => {
    // Globs that cannot meet by analysis, with no shared file: no conflict.
    expect(globSetsOverlap(['src/a/**'], ['src/b/**'], ['src/a/x.ts', 'src/b/y.ts'])).toBe(false);
    // `!(...)` is approximated; a tracked file both match is a conflict either way.
    expect(globSetsOverlap(['src/**'], ['src/!(b)/*.ts'], ['src/a/x.ts'])).toBe(true);
  });
});

describe('ownsEverything', () => {
  it.each(['**', '*', '.', './', '**/*', './**', '*/**', '/**'])('%s owns everything', (g) => {
    expect(ownsEverything(g)).toBe(true);
  });
  it.each(['src/**', '*.ts', '**/*.ts', '*/*', 'a'])('%s does not', (g) => {
    expect(ownsEverything(g)).toBe(false);
  });
});

describe('expandBraces', () => {
  it('expands lists, nested lists and ranges, and leaves {a} alone', () => {
    expect(expandBraces('a/{b,c{d,e}}/f', 100)).toEqual(['a/b/f', 'a/cd/f', 'a/ce/f']);
    expect(expandBraces('v{01..03}', 100)).toEqual(['v01', 'v02', 'v03']);
    expect(expandBraces('{a..c}', 100)).toEqual(['a', 'b', 'c']);
    expect(expandBraces('x{a}y', 100)).toEqual(['x{a}y']);
  });

  it('gives up past the limit (the caller then assumes the pattern matches everything)', () => {
    expect(expandBraces('{a,b}{c,d}{e,f}', 7)).toBeUndefined();
    expect(globsOverlap('{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}/x', 'zzz/x')).toBe(true);
  });
});

describe('compileGlob: the shortcut for plain paths and folders', () => {
  it.each(['src/api/routes.ts', 'src/api/**', './docs/', 'a//b/**', 'packages/pkg1/src/mod1/**', 'README.md', 'x/./y', '.'])(
    '%s takes the same shape as the general reader gives it',
    (glob) => {
      expect(compileGlob(glob).alternatives).toEqual([toAlternative(normalizeGlob(glob))]);
    },
  );
});
