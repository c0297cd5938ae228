import { ID_PATTERN, ID_RULE } from '../config/ref-name.js';

/**
 * Returns a message when `value` cannot name a run or a task, else undefined. The same rule
 * as swarm.yaml's (git's ref rules included), so a name made anywhere else — a template's
 * generated id — is refused before git sees it.
 */
export function badName(what: 'run' | 'task', value: string): string | undefined {
  if (ID_PATTERN.test(value)) return undefined;
  return `invalid ${what} name ${JSON.stringify(value)}: expected ${ID_RULE}`;
}

/**
 * Where task branches live. Not `swarm/<run>/<task>`: git stores refs as files, so
 * `refs/heads/swarm/<run>/<task>` cannot exist next to the default integration branch
 * `refs/heads/swarm/<run>` (a file and a folder of the same name).
 */
export const TASK_BRANCH_PREFIX = 'swarm-task/';

/** The branch that holds one task's work: the branch, not the folder, identifies it. */
export function taskBranch(run: string, task: string): string {
  return `${TASK_BRANCH_PREFIX}${run}/${task}`;
}

/** The run and task of a task branch, or undefined for any other branch. */
export function parseTaskBranch(branch: string): { run: string; task: string } | undefined {
  if (!branch.startsWith(TASK_BRANCH_PREFIX)) return undefined;
  const [run = '', task = '', ...rest] = branch.slice(TASK_BRANCH_PREFIX.length).split('/');
  if (rest.length > 0 || badName('run', run) !== undefined || badName('task', task) !== undefined) return undefined;
  return { run, task };
}

/** The merge worktree's folder name; task ids cannot start with `_`, so it never clashes. */
export const MERGE_DIR = '_merge';

export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Splits NUL-separated git output (`-z`) without trimming: a path may end in a space. */
export function splitNul(text: string): string[] {
  return text.split('\0').filter((s) => s !== '');
}
