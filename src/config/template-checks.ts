/**
 * The checks of a template entry (`for_each`) that need no repository: its source, its
 * placeholders, its id. Like the other checks they read the raw data defensively, so they
 * report alongside the schema's problems. Matching happens later, in ./expand.ts.
 */
import type { Diagnostic } from './diagnostic.js';
import { describePath, isRecord } from './describe.js';
import type { Locator, PathKey } from './locate.js';
import { hasPlaceholder, PLACEHOLDERS, unknownPlaceholders } from './placeholders.js';
import { ID_PATTERN, ID_RULE } from './ref-name.js';

type Report = (message: string, loc: Diagnostic['loc']) => void;

const SOURCES = ['dirs', 'files', 'values'] as const;
const KNOWN_TEXT = `known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}`;

/** The name a template goes by in depends_on and in reports: its id, or the id's text before the first placeholder. */
export function templateName(id: string): string {
  const cut = id.indexOf('{{');
  return cut < 0 ? id : id.slice(0, cut).replace(/[._-]+$/, '');
}

/** Checks one task entry of the raw file: templates fully, plain tasks for placeholders in their id. */
export function checkTemplateEntry(raw: unknown, task: Record<string, unknown>, i: number, at: Locator, error: Report): void {
  const named = (): string => describePath(raw, ['tasks', i]);
  const id = typeof task.id === 'string' ? task.id : undefined;
  if (!Object.hasOwn(task, 'for_each')) {
    if (id !== undefined && hasPlaceholder(id)) {
      error(
        `task id ${JSON.stringify(id)} has placeholders, which only a template fills: add for_each, or write a plain id (${ID_RULE})`,
        at.at(['tasks', i, 'id']),
      );
    }
    return;
  }
  if (id !== undefined && hasPlaceholder(id)) {
    const name = templateName(id);
    if (!ID_PATTERN.test(name)) {
      error(
        `template id ${JSON.stringify(id)} must start with the template's own name, before its first placeholder (e.g. "lint-{{name}}"): depends_on and reports use that name`,
        at.at(['tasks', i, 'id']),
      );
    }
  }
  const each = task.for_each;
  if (!isRecord(each)) return;
  const given = SOURCES.filter((k) => Object.hasOwn(each, k));
  if (given.length !== 1) {
    const loc = given.length === 0 ? at.atKey(['tasks', i, 'for_each']) : at.atKey(['tasks', i, 'for_each', given[1]!]);
    error(`${named()} for_each: expected exactly one of dirs, files or values, got ${given.length === 0 ? 'none' : given.join(' and ')}`, loc);
  }
  if (Object.hasOwn(each, 'containing') && given.length === 1 && given[0] === 'values') {
    error(`${named()} for_each.containing filters files by their content; it cannot apply to values`, at.atKey(['tasks', i, 'for_each', 'containing']));
  }

  const placeholders = (value: unknown, path: PathKey[]): void => {
    if (typeof value !== 'string') return;
    const unknown = unknownPlaceholders(value);
    if (unknown.length === 0) return;
    const where = describePath(raw, path);
    error(`${where}: unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(', ')} (${KNOWN_TEXT})`, at.at(path));
  };
  for (const key of ['id', 'title', 'prompt', 'check', 'setup']) placeholders(task[key], ['tasks', i, key]);
  if (Array.isArray(task.files)) {
    task.files.forEach((glob, j) => {
      placeholders(glob, ['tasks', i, 'files', j]);
    });
  }
  if (isRecord(task.env)) for (const [key, value] of Object.entries(task.env)) placeholders(value, ['tasks', i, 'env', key]);
}

/** Unknown placeholders in a template's prompt file: reported at its `prompt_file`, with the line in the prompt. */
export function checkTemplatePrompt(raw: unknown, i: number, text: string, at: Locator, error: Report): void {
  const unknown = unknownPlaceholders(text);
  if (unknown.length === 0) return;
  const first = text.indexOf(`{{${unknown[0]}`);
  const line = first < 0 ? undefined : text.slice(0, first).split('\n').length;
  error(
    `${describePath(raw, ['tasks', i, 'prompt_file'])}: the prompt has an unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(', ')}${line === undefined ? '' : ` (line ${line})`} (${KNOWN_TEXT})`,
    at.at(['tasks', i, 'prompt_file']),
  );
}
