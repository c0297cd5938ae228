import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The comment above every block of lines swarm adds. */
const MARKER = '# swarm: run state and task worktrees';

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
  const block = `${prefix}${MARKER}\n${missing.join('\n')}\n`;
  await mkdir(dirname(excludeFile), { recursive: true });
  await writeFile(excludeFile, text + block);
  return missing;
}

/** `.swarm`, `.swarm/`, `/.swarm` and `/.swarm/` all exclude the root's `.swarm` folder. */
function normalize(line: string): string {
  return line.trim().replace(/^\//, '').replace(/\/$/, '');
}

/**
 * Removes from `info/exclude` the folder lines swarm wrote (in its own block, under
 * MARKER) for folders that hold tracked files: an older swarm accepted `worktrees: src`
 * and its `/src/` line hides every new file under src/ from `git status`. Lines the user
 * wrote, and `/.swarm/`, are never touched. Returns the lines removed.
 */
export async function dropTrackedFolderExcludes(excludeFile: string, tracked: readonly string[]): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(excludeFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  const candidates = new Map<number, string>();
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== MARKER) continue;
    // swarm's block: the folder lines written right under the marker, one call's worth.
    for (let j = i + 1; j < lines.length && /^\/.+\/$/.test(lines[j]!.trim()); j++) {
      const folder = normalize(lines[j]!);
      if (folder !== '.swarm' && !folder.startsWith('.swarm/')) candidates.set(j, folder);
    }
  }
  if (candidates.size === 0) return [];
  const holding = new Set<number>();
  for (const path of tracked) {
    for (const [j, folder] of candidates) if (path.startsWith(`${folder}/`)) holding.add(j);
    if (holding.size === candidates.size) break;
  }
  if (holding.size === 0) return [];
  const removed = [...holding].map((j) => lines[j]!.trim());
  await writeFile(excludeFile, lines.filter((_, j) => !holding.has(j)).join('\n'));
  return removed;
}
