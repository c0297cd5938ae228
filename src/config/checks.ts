import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import type { Diagnostic } from './diagnostic.js';
import { describePath, describeValue, isRecord } from './describe.js';
import { suggestion } from './did-you-mean.js';
import { globProblem } from './glob-check.js';
import type { Locator } from './locate.js';
import { branchNameProblem } from './ref-name.js';
import { checkTemplateEntry, checkTemplatePrompt, templateName } from './template-checks.js';
import type { SourceLoc } from './spec.js';
import { parseDuration } from '../util/duration.js';

export interface CheckOptions {
  /** Reads a prompt file; throws like fs.readFileSync (default: {@link readRegularFile}). */
  readonly readFile?: (path: string) => string;
}

/** Prompts beyond this are almost certainly the wrong file. */
export const MAX_PROMPT_BYTES = 1024 * 1024;

/**
 * The runner renews a lease every third of its TTL (at least every second): below this the
 * renewals would crowd the database, and one slow renewal would expire a live lease.
 */
export const MIN_LEASE_TTL_MS = 5000;

export interface PromptFile {
  readonly path: string;
  readonly text: string;
}

export interface CheckResult {
  readonly diagnostics: Diagnostic[];
  /** Prompt files read while checking, by task index, so they are read once. */
  readonly prompts: ReadonlyMap<number, PromptFile>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The checks zod cannot make: across tasks, against the disk, between keys. They read the
 * raw data defensively, so they run (and report) even when the schema found problems too.
 */
export function checkSpec(raw: unknown, file: string, at: Locator, options: CheckOptions = {}): CheckResult {
  const out: Diagnostic[] = [];
  const prompts = new Map<number, PromptFile>();
  const error = (message: string, loc = at.start(), related?: Diagnostic['related']): void => {
    out.push(related === undefined ? { severity: 'error', message, loc } : { severity: 'error', message, loc, related });
  };
  if (!isRecord(raw)) return { diagnostics: out, prompts };

  checkPositiveDuration(raw.timeout, ['timeout'], raw, at, error);
  if (isRecord(raw.lease)) {
    checkPositiveDuration(raw.lease.ttl, ['lease', 'ttl'], raw, at, error);
    const ttl = parseDuration(raw.lease.ttl);
    if (ttl !== undefined && ttl > 0 && ttl < MIN_LEASE_TTL_MS) {
      error(
        `lease.ttl: expected at least 5s (the runner renews its leases every third of the ttl), got ${describeValue(raw.lease.ttl)}`,
        at.at(['lease', 'ttl']),
      );
    }
  }
  if (typeof raw.into === 'string' && raw.into !== '') {
    const problem = branchNameProblem(raw.into);
    if (problem !== undefined) error(`into: ${JSON.stringify(raw.into)} ${problem}`, at.at(['into']));
  }
  if (typeof raw.worktrees === 'string' && raw.worktrees !== '') {
    const problem = worktreesProblem(raw.worktrees);
    if (problem !== undefined) error(`worktrees: ${JSON.stringify(raw.worktrees)} ${problem}`, at.at(['worktrees']));
  }

  const tasks = Array.isArray(raw.tasks) ? raw.tasks : [];
  const ids = new Map<string, number>();
  const allIds = new Set<string>();
  tasks.forEach((task, i) => {
    if (!isRecord(task) || typeof task.id !== 'string') return;
    // A template goes by its name: depends_on and reports use it.
    const id = Object.hasOwn(task, 'for_each') ? templateName(task.id) : task.id;
    allIds.add(id);
    const first = ids.get(id);
    if (first === undefined) {
      ids.set(id, i);
      return;
    }
    const firstLoc = at.at(['tasks', first, 'id']);
    error(`duplicate task id ${JSON.stringify(id)} (first defined on line ${firstLoc.line})`, at.at(['tasks', i, 'id']), [
      { message: `${JSON.stringify(id)} is first defined here`, loc: firstLoc },
    ]);
  });

  const topAgent = isRecord(raw.agent) ? raw.agent : {};
  const baseDir = dirname(resolve(file));
  const readFile = options.readFile ?? readRegularFile;
  const commandless = new Set<string>();
  const globProblems = new Map<string, string | undefined>();

  tasks.forEach((task, i) => {
    if (!isRecord(task)) return;
    // How messages name this task; built only for a message (this loop runs for every task).
    let described: string | undefined;
    const named = (): string => (described ??= describePath(raw, ['tasks', i]));
    const template = Object.hasOwn(task, 'for_each');
    checkTemplateEntry(raw, task, i, at, (message, loc) => error(message, loc));
    const selfId = template && typeof task.id === 'string' ? templateName(task.id) : task.id;
    const hasPrompt = Object.hasOwn(task, 'prompt');
    const hasFile = Object.hasOwn(task, 'prompt_file');
    if (hasPrompt && hasFile) {
      error(`${named()} sets both prompt and prompt_file; keep one`, at.atKey(['tasks', i, 'prompt_file']));
    } else if (!hasPrompt && !hasFile) {
      error(`${named()} has no prompt: set prompt or prompt_file`, at.firstLine(at.at(['tasks', i])));
    }
    if (typeof task.prompt === 'string' && task.prompt.trim() === '' && task.prompt !== '') {
      error(`${named()} prompt: is blank`, at.at(['tasks', i, 'prompt']));
    }
    if (typeof task.prompt_file === 'string' && task.prompt_file !== '') {
      const path = resolve(baseDir, task.prompt_file);
      const read = readPromptFile(path, readFile);
      if (typeof read !== 'string') {
        prompts.set(i, { path, text: read.text });
        if (template) checkTemplatePrompt(raw, i, read.text, at, (message, loc) => error(message, loc));
      } else error(`${named()} prompt_file: ${JSON.stringify(task.prompt_file)} ${read}`, at.at(['tasks', i, 'prompt_file']));
    }

    // A template's globs are checked as they come out, per match (./expand.ts).
    if (Array.isArray(task.files) && !template) {
      task.files.forEach((glob, j) => {
        if (typeof glob !== 'string' || glob === '') return;
        let problem = globProblems.get(glob);
        if (!globProblems.has(glob)) globProblems.set(glob, (problem = globProblem(glob)));
        if (problem !== undefined) error(`${named()} files: ${JSON.stringify(glob)} ${problem}`, at.at(['tasks', i, 'files', j]));
      });
    }

    if (Array.isArray(task.depends_on)) {
      const seen = new Map<string, number>();
      task.depends_on.forEach((dep, j) => {
        if (typeof dep !== 'string') return;
        // Locations are looked up only for problems: this loop runs for every edge of a big graph.
        const loc = (): SourceLoc => at.at(['tasks', i, 'depends_on', j]);
        const before = seen.get(dep);
        if (before !== undefined) {
          const firstLoc = at.at(['tasks', i, 'depends_on', before]);
          error(`${named()} depends_on: ${JSON.stringify(dep)} is listed twice`, loc(), [{ message: 'first listed here', loc: firstLoc }]);
          return;
        }
        seen.set(dep, j);
        if (dep === selfId) error(`${named()} depends on itself`, loc());
        else if (!allIds.has(dep)) error(`${named()} depends on unknown task ${JSON.stringify(dep)}${suggestion(dep, allIds)}`, loc());
      });
    }

    if (isRecord(task.env)) {
      for (const key of Object.keys(task.env)) {
        if (!ENV_NAME.test(key)) error(`${named()} env: ${JSON.stringify(key)} is not a valid environment variable name`, at.atKey(['tasks', i, 'env', key]));
      }
    }
    checkPositiveDuration(task.timeout, ['tasks', i, 'timeout'], raw, at, error);

    const own = isRecord(task.agent) ? task.agent : {};
    const kind = own.kind ?? topAgent.kind;
    if (kind === 'codex') claudeOnlyKeys(own, ['tasks', i, 'agent'], `${named()} runs codex`, at, error);
    const command = own.command ?? topAgent.command;
    if (kind === 'command' && command === undefined) {
      if (own.kind === 'command') error(`${named()} has agent kind "command" but no agent.command to run`, at.at(['tasks', i, 'agent', 'kind']));
      else commandless.add(typeof task.id === 'string' ? task.id : `tasks[${i}]`);
    }
  });

  if (topAgent.kind === 'codex') claudeOnlyKeys(topAgent, ['agent'], 'the agent is codex', at, error);
  if (commandless.size > 0) {
    const names = [...commandless];
    const shown =
      names
        .slice(0, 5)
        .map((id) => JSON.stringify(id))
        .join(', ') + (names.length > 5 ? `, and ${names.length - 5} more` : '');
    error(`agent kind is "command" but no agent.command is given (tasks without their own: ${shown})`, at.at(['agent', 'kind']));
  }
  return { diagnostics: out, prompts };
}

/** Settings only claude reads. Written where the agent is codex, they would be ignored, silently. */
const CLAUDE_ONLY = ['max_turns', 'max_budget_usd', 'allowed_tools', 'disallowed_tools'] as const;

function claudeOnlyKeys(
  agent: Record<string, unknown>,
  path: (string | number)[],
  who: string,
  at: Locator,
  error: (message: string, loc: ReturnType<Locator['at']>) => void,
): void {
  for (const key of CLAUDE_ONLY) {
    if (!Object.hasOwn(agent, key)) continue;
    error(`${who}, which does not use ${key} (a claude setting); remove it, or pass codex's own flags in agent.args`, at.atKey([...path, key]));
  }
}

function checkPositiveDuration(
  value: unknown,
  path: (string | number)[],
  raw: unknown,
  at: Locator,
  error: (message: string, loc: ReturnType<Locator['at']>) => void,
): void {
  if (value === undefined) return;
  if (parseDuration(value) === 0) error(`${describePath(raw, path)}: expected a duration greater than zero, got ${describeValue(value)}`, at.at(path));
}

/** The text, or why it cannot be used. */
function readPromptFile(path: string, readFile: (path: string) => string): { text: string } | string {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `does not exist (looked for ${path})`;
    if (code === 'EISDIR') return `is a folder, not a file (${path})`;
    if (code === 'EACCES' || code === 'EPERM') return `cannot be read: permission denied (${path})`;
    if (code === NOT_REGULAR || code === 'EFBIG') return `${(error as Error).message} (${path})`;
    return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (Buffer.byteLength(text) > MAX_PROMPT_BYTES) return `is larger than ${MAX_PROMPT_BYTES / 1024 / 1024} MiB (${path})`;
  if (text.trim() === '') return 'is empty';
  return { text };
}

const NOT_REGULAR = 'SWARM_NOT_REGULAR';

/**
 * Reads a prompt file only when it is a regular file of at most MAX_PROMPT_BYTES, judged
 * by `stat` before it is opened: opening a FIFO blocks until a writer comes, and reading
 * /dev/zero never ends. Throws like fs.readFileSync (the code says why).
 */
export function readRegularFile(path: string): string {
  const stat = statSync(path);
  if (stat.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
  if (!stat.isFile()) {
    const kind = stat.isFIFO()
      ? 'a named pipe (FIFO)'
      : stat.isSocket()
        ? 'a socket'
        : stat.isCharacterDevice() || stat.isBlockDevice()
          ? 'a device'
          : 'not a file';
    throw Object.assign(new Error(`is ${kind}, not a regular file`), { code: NOT_REGULAR });
  }
  if (stat.size > MAX_PROMPT_BYTES) {
    throw Object.assign(new Error(`is larger than ${MAX_PROMPT_BYTES / 1024 / 1024} MiB (${stat.size} bytes)`), { code: 'EFBIG' });
  }
  return readFileSync(path, 'utf8');
}

/**
 * Why `worktrees:` cannot hold task worktrees, judged from the text alone (relative to the
 * repository root). Whether it holds tracked files needs the repository: see
 * `worktreesHoldTracked` in ./repo-checks.ts.
 */
export function worktreesProblem(value: string): string | undefined {
  if (isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value)) return 'is an absolute path; write a folder relative to the repository root';
  const norm = posix.normalize(value.replaceAll('\\', '/')).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../')) return 'is outside the repository; task worktrees must live inside it (relative to its root)';
  if (norm === '.' || norm === '') return 'is the repository root; choose a folder of its own, such as .swarm/worktrees';
  if (norm.split('/').includes('.git')) return 'is inside .git/; Claude Code refuses to edit files there, choose another folder';
  // Worktrees go under <folder>/<run>/<task>: at .swarm itself a run named `hooks` would put
  // its merge worktree among the guard hooks (and task `pre-commit` onto one), `logs` among the logs.
  const [top, second = ''] = norm.split('/');
  if (top === '.swarm' && (second === '' || second === 'hooks' || second === 'logs' || second.startsWith('state.db'))) {
    return "holds swarm's own files (state.db, hooks, logs); choose .swarm/worktrees or a folder of its own";
  }
  return undefined;
}
