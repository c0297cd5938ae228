import { createHash } from 'node:crypto';
import type { Spec, TaskSpec } from '../config/spec.js';
import type { GraphView, TaskRecord } from './ports.js';

/** A task's definition: what, if changed since it ran, makes it run again. */
export function taskHash(spec: Spec, task: TaskSpec): string {
  const def = {
    prompt: task.prompt,
    files: task.files,
    dependsOn: [...task.dependsOn].sort(),
    agent: task.agent,
    setup: task.setup ?? spec.setup ?? null,
    check: task.check ?? spec.check ?? null,
    env: Object.entries(task.env).sort(([a], [b]) => a.localeCompare(b)),
  };
  return createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 16);
}

export interface ResumePlan {
  /** Tasks whose work is on the integration branch and whose definition did not change. */
  readonly keepMerged: ReadonlySet<string>;
  /** Tasks whose definition changed since they ran. */
  readonly changed: readonly string[];
  /** Tasks that run again because something upstream changed. */
  readonly downstreamOfChange: readonly string[];
  /** Merged tasks whose branch is no longer in the integration branch (history rewritten by someone). */
  readonly lostMerges: readonly string[];
}

/** Decides, for a run that exists already, what stays and what runs again. Pure. */
export function planResume(
  graph: GraphView,
  hashes: ReadonlyMap<string, string>,
  previous: ReadonlyMap<string, TaskRecord>,
  inIntegration: ReadonlySet<string>,
): ResumePlan {
  const changed = graph.ids.filter((id) => {
    const prev = previous.get(id);
    return prev !== undefined && prev.attempts > 0 && prev.hash !== hashes.get(id);
  });
  const dirty = new Set<string>(changed);
  for (const id of changed) for (const d of graph.descendants(id)) dirty.add(d);
  const keepMerged = new Set<string>();
  const lostMerges: string[] = [];
  for (const id of graph.ids) {
    if (previous.get(id)?.state !== 'merged') continue;
    if (!inIntegration.has(id)) lostMerges.push(id);
    else if (!dirty.has(id)) keepMerged.add(id);
  }
  const downstreamOfChange = [...dirty].filter((id) => !changed.includes(id)).sort();
  return { keepMerged, changed, downstreamOfChange, lostMerges };
}
