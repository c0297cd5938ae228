import type { PathKey } from './locate.js';

/** How a value from the file reads in a message: `"four"`, `12`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `${JSON.stringify(value.slice(0, 37))}...` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (Array.isArray(value) && typeof key === 'number') value = value[key];
    else if (isRecord(value)) value = Object.hasOwn(value, String(key)) ? value[String(key)] : undefined;
    else return undefined;
  }
  return value;
}

/**
 * A path as the user thinks of it: `agent.model`, `task "auth" agent.model`,
 * `task "auth" files[2]`. Tasks are named by id when they have a usable one.
 */
export function describePath(root: unknown, path: readonly PathKey[]): string {
  let prefix = '';
  let rest = path;
  if (path[0] === 'tasks' && typeof path[1] === 'number') {
    const id = valueAt(root, ['tasks', path[1], 'id']);
    prefix = typeof id === 'string' && id !== '' ? `task ${JSON.stringify(id)}` : `tasks[${path[1]}]`;
    rest = path.slice(2);
  }
  let tail = '';
  for (const key of rest) tail += typeof key === 'number' ? `[${key}]` : tail === '' ? key : `.${key}`;
  if (prefix === '') return tail;
  return tail === '' ? prefix : `${prefix} ${tail}`;
}
