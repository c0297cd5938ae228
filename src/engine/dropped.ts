import type { Spec } from '../config/spec.js';
import type { TaskRecord } from './ports.js';

/**
 * Tasks of an earlier run of this file that a template made and that it makes no more
 * (their match is gone at the new base), and that never merged: they are dropped. Merged
 * ones leave quietly; their work stays on the integration branch. The store forgets them
 * when the run is saved, so each is reported once.
 */
export function droppedTasks(spec: Spec, previous: ReadonlyMap<string, TaskRecord>): string[] {
  const templates = spec.templates ?? [];
  if (templates.length === 0) return [];
  const now = new Set(spec.tasks.map((t) => t.id));
  const out: string[] = [];
  for (const [id, rec] of previous) {
    if (now.has(id) || rec.state === 'merged') continue;
    if (templates.some((t) => madeBy(id, t.id))) out.push(id);
  }
  return out.sort();
}

/** Whether `id` has the shape of a task the template named `name` makes (`migrate.billing`, `lint-core`). */
function madeBy(id: string, name: string): boolean {
  return id.length > name.length + 1 && id.startsWith(name) && '._-'.includes(id[name.length]!);
}

export function droppedText(id: string): string {
  return `dropped: ${id} (its match is gone)`;
}
