/**
 * Names that become git refs: run names and task ids (in `swarm-task/<run>/<task>` and the
 * default `swarm/<run>`), and `into:`. Checked here, in code and without a git process, so
 * `swarm validate` refuses what `git branch` would refuse halfway through a run.
 * Pure: no zod, no fs; the git layer and future task templates use the same rules.
 */

/**
 * Task ids and run names: lower-case, safe in branch names and paths. The look-aheads are
 * git's rules that the character set alone lets through: `a..b`, `x.lock`, `a.`.
 */
export const ID_PATTERN = /^(?!.*\.\.)(?!.*\.$)(?!.*\.lock$)[a-z0-9][a-z0-9._-]{0,63}$/;

/** The rule, as every message about a run name or a task id says it. */
export const ID_RULE =
  'lower-case letters, digits, \'.\', \'_\' or \'-\', starting with a letter or digit, at most 64 characters, with no ".." and not ending in "." or ".lock" (git refuses those in branch names)';

/** Why `id` cannot name a task or a run, or undefined when it can. */
export function idProblem(what: 'task id' | 'run name', id: string): string | undefined {
  return ID_PATTERN.test(id) ? undefined : `${JSON.stringify(id)} is not a valid ${what}: expected ${ID_RULE}`;
}

/** Where task branches live; `into:` must stay out of it (see src/git/names.ts). */
const TASK_BRANCH_ROOT = 'swarm-task';

/**
 * Names git resolves before any branch (`git rev-parse FETCH_HEAD` reads .git/FETCH_HEAD, and `@` is HEAD):
 * a branch named so would be shadowed, and swarm would merge into something else.
 */
const SPECIAL = /^(?:@|HEAD|[A-Z][A-Z0-9_]*_HEAD|AUTO_MERGE)$/;

/**
 * Why `name` cannot be the integration branch, or undefined. The rules of
 * `git check-ref-format --branch`, then swarm's own: not a name git resolves specially,
 * not a full ref, not among the task branches.
 */
export function branchNameProblem(name: string): string | undefined {
  const rule = refRuleBroken(name);
  if (rule !== undefined) return `is not a valid branch name: ${rule}`;
  if (SPECIAL.test(name)) return `is a name git resolves before any branch (like HEAD or FETCH_HEAD); choose another name`;
  if (name.startsWith('refs/')) return `is a full ref; write the branch name alone (${JSON.stringify(name.replace(/^refs\/(heads\/)?/, ''))})`;
  if (name === TASK_BRANCH_ROOT || name.startsWith(`${TASK_BRANCH_ROOT}/`)) {
    return `is inside ${TASK_BRANCH_ROOT}/, where swarm keeps task branches; choose another name`;
  }
  return undefined;
}

/** The first rule of git-check-ref-format(1) that `name` breaks, said for a person. */
export function refRuleBroken(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.startsWith('-')) return 'it starts with "-" (git would read it as an option)';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty part (a leading, trailing or doubled "/")';
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(name)?.[0];
  if (bad !== undefined) return `it contains ${describeChar(bad)}`;
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `its part ${JSON.stringify(part)} starts with "."`;
    if (part.endsWith('.lock')) return `its part ${JSON.stringify(part)} ends with ".lock"`;
  }
  return undefined;
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  return JSON.stringify(c);
}
