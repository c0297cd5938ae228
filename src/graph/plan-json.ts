/**
 * `swarm plan --format json`: the contract later commands and tests read. Documented for
 * users in docs/plan-json.md; change both together, and bump `version` on any change
 * that is not a new optional field.
 *
 * ```ts
 * {
 *   version: 1,
 *   name: string,                 // run name
 *   into: string,                 // integration branch
 *   concurrency: number,          // from the file (or --concurrency)
 *   effectiveConcurrency: number, // tasks that can really run at once (<= concurrency)
 *   weightUnit: 'ms' | 'tasks',   // unit of weight, remaining and criticalPath.length
 *   tasks: [{                     // sorted by id
 *     id, title,
 *     dependsOn: string[],        // direct dependencies, sorted
 *     files: string[],            // globs, as written
 *     wave: number,               // 0-based index into `waves`
 *     weight: number,             // this task's own weight
 *     remaining: number,          // heaviest path from here to the end, this task included
 *     critical: boolean,          // on the critical path
 *     template?: string,          // set on a task a template (for_each) made: the template's name
 *     match?: string,             // ... and the match it was made for (the first of a batch)
 *     matches?: string[],         // ... every match of a batch (batch > 1)
 *   }],
 *   templates?: [{ id, source: 'dirs' | 'files' | 'values', count, tasks: string[] }],  // in file order
 *   order: string[],              // topological; ties broken by id
 *   waves: string[][],            // wave k: tasks whose longest dependency chain has k links
 *   criticalPath: { tasks: string[], length: number },
 *   conflicts: [{ a, b, globA, globB, path? }],  // a < b; sorted by (a, b)
 * }
 * ```
 */
import type { Spec } from '../config/spec.js';
import type { Conflict, TaskGraph, WeightUnit } from './task-graph.js';

export interface PlanTask {
  readonly id: string;
  readonly title: string;
  readonly dependsOn: readonly string[];
  readonly files: readonly string[];
  readonly wave: number;
  readonly weight: number;
  readonly remaining: number;
  readonly critical: boolean;
  readonly template?: string;
  readonly match?: string;
  readonly matches?: readonly string[];
}

export interface PlanTemplate {
  readonly id: string;
  readonly source: 'dirs' | 'files' | 'values';
  readonly count: number;
  readonly tasks: readonly string[];
}

export interface PlanJson {
  readonly version: 1;
  readonly name: string;
  readonly into: string;
  readonly concurrency: number;
  readonly effectiveConcurrency: number;
  readonly weightUnit: WeightUnit;
  readonly tasks: readonly PlanTask[];
  readonly order: readonly string[];
  readonly waves: readonly (readonly string[])[];
  readonly criticalPath: { readonly tasks: readonly string[]; readonly length: number };
  readonly conflicts: readonly Conflict[];
  readonly templates?: readonly PlanTemplate[];
}

export function planJson(spec: Spec, graph: TaskGraph, concurrency = spec.concurrency): PlanJson {
  const critical = new Set(graph.criticalPath.tasks);
  return {
    version: 1,
    name: spec.name,
    into: spec.into,
    concurrency,
    effectiveConcurrency: graph.effectiveConcurrency(concurrency),
    weightUnit: graph.weightUnit,
    tasks: graph.ids.map((id) => {
      const t = graph.task(id);
      return {
        id,
        title: t.title,
        dependsOn: graph.dependencies(id),
        files: t.files,
        wave: graph.wave(id),
        weight: graph.weight(id),
        remaining: graph.remaining(id),
        critical: critical.has(id),
        ...(t.template === undefined
          ? {}
          : { template: t.template.id, match: t.template.matches[0]!, ...(t.template.matches.length > 1 ? { matches: t.template.matches } : {}) }),
      };
    }),
    order: graph.order,
    waves: graph.waves,
    criticalPath: graph.criticalPath,
    conflicts: graph.conflicts,
    ...(spec.templates === undefined || spec.templates.length === 0
      ? {}
      : { templates: spec.templates.map((t) => ({ id: t.id, source: t.source, count: t.tasks.length, tasks: t.tasks })) }),
  };
}
