import type { Diagnostic } from '../../src/config/diagnostic.js';
import { compareBytes, type MatchSource } from '../../src/config/matches.js';
import { ok } from '../../src/util/result.js';

/** `file:line:col message`, the part of a diagnostic a user reads first. */
export function brief(d: Diagnostic): string {
  return d.loc === undefined ? d.message : `${d.loc.file}:${d.loc.line}:${d.loc.col} ${d.message}`;
}

/** A valid task, as yaml lines, to pad out files whose problem lies elsewhere. */
export const OK_TASK = ['  - id: ok', '    prompt: do it', '    files: ["ok/**"]'];

export const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/**
 * The monorepo the shipped examples are written for, as templates see it at base: they
 * expand against this instead of swarm's own repository, which has no packages/.
 */
export const EXAMPLE_REPO: MatchSource = {
  commit: () => ok('0123456789abcdef0123456789abcdef01234567'),
  files: () =>
    ok(
      [
        'apps/web/src/index.js',
        ...['billing', 'checkout', 'core', 'inventory', 'notifications', 'search', 'users'].flatMap((p) => [
          `packages/${p}/package.json`,
          `packages/${p}/src/index.ts`,
        ]),
        'src/api/routes.js',
        'src/auth/login.js',
        'src/db/pool.js',
        'src/util/fs.js',
        'src/vendor/lib.js',
        ...Array.from({ length: 7 }, (_, i) => `src/jobs/job${i}.js`),
      ].sort(compareBytes),
    ),
  grep: () =>
    ok(
      new Set(['src/api/routes.js', 'src/auth/login.js', 'src/util/fs.js', 'src/vendor/lib.js', ...Array.from({ length: 7 }, (_, i) => `src/jobs/job${i}.js`)]),
    ),
};

export const EXAMPLE_OPTIONS = { matchSource: () => EXAMPLE_REPO } as const;
