import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Diagnostic } from './diagnostic.js';
import { Locator, parseYaml } from './locate.js';
import type { Spec } from './spec.js';

/**
 * The checks of a loaded file that need the repository: here, that `worktrees:` holds no
 * tracked file. swarm lists the worktrees folder in `.git/info/exclude`; over a tracked
 * folder that line would hide every new file the user makes there from `git status`.
 * One pass over the tracked files (relative to the root, as `git ls-files --full-name`
 * gives them); `file` is the swarm file as the user named it, for the location.
 */
export function checkAgainstRepository(spec: Spec, tracked: readonly string[], file: string): Diagnostic[] {
  const folder = posix.normalize(spec.worktrees.replaceAll('\\', '/')).replace(/\/+$/, '');
  const prefix = `${folder}/`;
  const inside: string[] = [];
  let isFile = false;
  for (const path of tracked) {
    if (path === folder) isFile = true;
    else if (path.startsWith(prefix) && inside.length < 3) inside.push(path);
  }
  if (!isFile && inside.length === 0) return [];
  const why = isFile
    ? 'is a file tracked by git'
    : `holds files tracked by git (${inside.join(', ')}${inside.length === 3 ? ', ...' : ''}); swarm lists its worktrees folder in .git/info/exclude, which would hide your new files there from git status`;
  return [
    {
      severity: 'error',
      message: `worktrees: ${JSON.stringify(spec.worktrees)} ${why}; choose a folder of its own, such as .swarm/worktrees`,
      loc: locate(file, ['worktrees']),
    },
  ];
}

/** Where `path` is written in `file`; read again only on this error path. */
function locate(file: string, path: readonly string[]): Diagnostic['loc'] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return new Locator(file, text, () => parseYaml(text)).at(path);
}
