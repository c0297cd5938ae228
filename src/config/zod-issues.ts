import { z } from 'zod';
import type { Diagnostic } from './diagnostic.js';
import { describePath, describeValue, isRecord, valueAt } from './describe.js';
import { suggestion } from './did-you-mean.js';
import type { Locator, PathKey } from './locate.js';
import { AgentSchema } from './schema.js';

const DURATION_KEYS = new Set(['timeout', 'estimate', 'ttl']);
const DURATION_MESSAGE = 'expected a duration such as 90s, 10m, 1h30m, or a number of seconds';

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/**
 * The messages for issues whose schema names none of its own. Schema-level messages
 * (ids, durations, `version`) win over this map, as zod applies them first.
 */
export const issueMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const shown = issue.values.map((v) => JSON.stringify(v));
      const hint = typeof issue.input === 'string' ? suggestion(issue.input, issue.values.map(String)) : '';
      const want = shown.length === 1 ? shown[0] : `one of ${shown.join(', ')}`;
      return `expected ${want}, got ${describeValue(issue.input)}${hint}`;
    }
    case 'too_small':
    case 'too_big': {
      const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const small = issue.code === 'too_small';
      if (issue.origin === 'string')
        return small && limit === 1 ? 'expected a non-empty string' : `expected ${small ? 'at least' : 'at most'} ${limit} characters`;
      if (issue.origin === 'array') return `expected ${small ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}`;
      const op = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      return `expected a number ${op} ${limit}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_union': {
      const last = issue.path?.[issue.path.length - 1];
      if (typeof last === 'string' && DURATION_KEYS.has(last)) return DURATION_MESSAGE;
      const wants = new Set<string>();
      for (const branch of issue.errors) for (const inner of branch) if (inner.code === 'invalid_type') wants.add(EXPECTED[inner.expected] ?? inner.expected);
      return wants.size > 0 ? `expected ${orList([...wants])}, got ${describeValue(issue.input)}` : undefined;
    }
    default:
      return undefined;
  }
};

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

const HINTS: Record<string, string> = {
  version: ' (add "version: 1")',
  tasks: ' (the list of tasks to run)',
  files: ' (the globs of the files this task owns)',
};

const AGENT_KEYS = Object.keys(AgentSchema.shape);

/** Turns zod's issues into diagnostics that point at the offending node. */
export function issuesToDiagnostics(issues: readonly z.core.$ZodIssue[], raw: unknown, at: Locator, schema: z.ZodType): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      const where = describePath(raw, path);
      for (const key of issue.keys) {
        const misplaced = path.length === 2 && path[0] === 'tasks' && AGENT_KEYS.includes(key) ? ` (it belongs under the task's agent:)` : '';
        out.push({
          severity: 'error',
          message: `unknown key ${JSON.stringify(key)}${where === '' ? '' : ` in ${where}`}${misplaced || suggestion(key, known)}`,
          loc: at.atKey([...path, key]),
        });
      }
      continue;
    }
    const label = describePath(raw, path);
    const last = path[path.length - 1];
    const parent = valueAt(raw, path.slice(0, -1));
    if (typeof last === 'string' && isRecord(parent) && !Object.hasOwn(parent, last)) {
      const owner = describePath(raw, path.slice(0, -1));
      out.push({
        severity: 'error',
        message: `missing required key ${JSON.stringify(last)}${owner === '' ? '' : ` in ${owner}`}${HINTS[last] ?? ''}`,
        loc: at.firstLine(at.at(path)),
      });
      continue;
    }
    const hint = path.length === 1 && path[0] === 'tasks' && isRecord(valueAt(raw, path)) ? ' (write each task as a list item: "- id: ...")' : '';
    out.push({ severity: 'error', message: `${label === '' ? '' : `${label}: `}${issue.message}${hint}`, loc: at.at(path) });
  }
  return out;
}

/** The keys the schema allows at `path`, for did-you-mean. */
export function knownKeys(schema: z.ZodType, path: readonly PathKey[]): string[] {
  let node: unknown = schema;
  for (const key of [...path, undefined]) {
    for (;;) {
      if (node instanceof z.ZodOptional) node = node.unwrap();
      else break;
    }
    if (key === undefined) break;
    if (typeof key === 'number' && node instanceof z.ZodArray) node = node.element;
    else if (typeof key === 'string' && node instanceof z.ZodObject) node = (node.shape as Record<string, unknown>)[key];
    else return [];
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape as Record<string, unknown>) : [];
}
