import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Adds each pattern to the repository's `info/exclude` unless a line already says the same,
 * so `.swarm/` never shows up in the user's `git status` and no tracked file (`.gitignore`)
 * is changed. Returns the patterns it added.
 */
export async function addExcludes(excludeFile: string, patterns: readonly string[]): Promise<string[]> {
  let text = '';
  try {
    text = await readFile(excludeFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const present = new Set(text.split(/\r?\n/).map(normalize));
  const missing = patterns.filter((p) => !present.has(normalize(p)));
  if (missing.length === 0) return [];
  const prefix = text === '' || text.endsWith('\n') ? '' : '\n';
  const block = `${prefix}# swarm: run state and task worktrees\n${missing.join('\n')}\n`;
  await mkdir(dirname(excludeFile), { recursive: true });
  await writeFile(excludeFile, text + block);
  return missing;
}

/** `.swarm`, `.swarm/`, `/.swarm` and `/.swarm/` all exclude the root's `.swarm` folder. */
function normalize(line: string): string {
  return line.trim().replace(/^\//, '').replace(/\/$/, '');
}
