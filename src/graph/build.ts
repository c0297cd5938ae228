import { Graph } from '@dagrejs/graphlib';
import type { Diagnostic } from '../config/diagnostic.js';
import type { Spec, TaskSpec } from '../config/spec.js';
import { err, ok, type Result } from '../util/result.js';
import { widestRunnableLayer } from './concurrency.js';
import { findConflicts } from './conflicts.js';
import { criticalPathOf, remainingOf, weightsOf } from './critical-path.js';
import { findDependencyCycles } from './cycles.js';
import { cycleDiagnostic, duplicateIdDiagnostic, ownsEverythingDiagnostic, tangleDiagnostic, unknownDependencyDiagnostic } from './diagnostics.js';
import { ownsEverything } from './overlap.js';
import { Reach } from './reach.js';
import type { TaskGraph } from './task-graph.js';
import { groupByLayer, heightsOf, stableTopoOrder, wavesOf } from './topo.js';

export interface BuildGraphOptions {
  /** Learnt durations in ms, by task id (from earlier runs). */
  readonly durations?: ReadonlyMap<string, number>;
  /** The repository's tracked files, relative to its root: a file two tasks match is a conflict. */
  readonly trackedFiles?: readonly string[];
}

/**
 * Spec -> TaskGraph. Fails with every cycle (each named in order, one location per edge)
 * and every task that owns the whole tree while another task could run beside it.
 */
export function buildGraph(spec: Spec, opts: BuildGraphOptions = {}): Result<TaskGraph, Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const byId = new Map<string, TaskSpec>();
  for (const t of spec.tasks) {
    if (byId.has(t.id)) diagnostics.push(duplicateIdDiagnostic(t));
    else byId.set(t.id, t);
  }
  const ids = [...byId.keys()].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const task = (id: string): TaskSpec => {
    const t = byId.get(id);
    if (t === undefined) throw new Error(`unknown task id: ${id}`);
    return t;
  };

  const depLists = new Map<string, string[]>();
  for (const id of ids) {
    const t = task(id);
    const deps = [...new Set(t.dependsOn)].filter((d) => {
      if (byId.has(d)) return true;
      diagnostics.push(unknownDependencyDiagnostic(t, d));
      return false;
    });
    depLists.set(id, deps.sort());
  }
  const dependsOn = (id: string) => depLists.get(id) ?? [];

  const n = ids.length;
  const deps = ids.map((id) => dependsOn(id).map((d) => index.get(d)!));
  const dependents: number[][] = ids.map(() => []);
  for (const [v, ds] of deps.entries()) for (const d of ds) dependents[d]!.push(v);
  const order = stableTopoOrder(n, deps, dependents);

  if (order.length < n) {
    // Kahn's order stops short exactly when there is a cycle. Only then is the graphlib
    // graph built (its Tarjan finds the components to name): on a valid 2,000-task file
    // its bookkeeping would be a third of the graph's time, for nothing.
    // Edges point from a task to what it depends on, so cycles read in depends_on order.
    const g = new Graph({ directed: true });
    for (const id of ids) g.setNode(id);
    for (const id of ids) for (const d of dependsOn(id)) g.setEdge(id, d);
    const { cycles, truncated } = findDependencyCycles(g, dependsOn);
    diagnostics.push(...cycles.map((c) => cycleDiagnostic(c, task)));
    diagnostics.push(...truncated.map((c) => tangleDiagnostic(c, task)));
  }
  if (diagnostics.length > 0) return err(diagnostics);

  const reach = new Reach(n, order, dependents);

  for (const [i, id] of ids.entries()) {
    const t = task(id);
    const k = t.files.findIndex(ownsEverything);
    if (k < 0) continue;
    const beside = ids.filter((_, j) => j !== i && !reach.ordered(i, j));
    if (beside.length > 0) diagnostics.push(ownsEverythingDiagnostic(t, k, beside));
  }
  if (diagnostics.length > 0) return err(diagnostics);

  const waveOf = wavesOf(order, deps);
  const waves = groupByLayer(waveOf).map((w) => w.map((i) => ids[i]!));
  const { unit, weights } = weightsOf(ids.map((id) => opts.durations?.get(id) ?? task(id).estimateMs));
  const remaining = remainingOf(order, dependents, weights);
  const criticalPath = criticalPathOf(ids, dependents, remaining);
  const conflicts = findConflicts(
    ids,
    ids.map((id) => task(id).files),
    reach,
    opts.trackedFiles,
  );
  const conflictSets = ids.map(() => new Set<number>());
  for (const c of conflicts) {
    conflictSets[index.get(c.a)!]!.add(index.get(c.b)!);
    conflictSets[index.get(c.b)!]!.add(index.get(c.a)!);
  }
  let widest: number | undefined;

  const at = (id: string): number => {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown task id: ${id}`);
    return i;
  };
  const names = (list: Iterable<number>) => [...list].sort((x, y) => x - y).map((i) => ids[i]!);
  const upstream = (i: number) => ids.flatMap((id, j) => (reach.reaches(j, i) ? [id] : []));

  const graph: TaskGraph = {
    ids,
    task,
    dependencies: (id) => names(deps[at(id)]!),
    dependents: (id) => names(dependents[at(id)]!),
    descendants: (id) => names(reach.descendants(at(id))),
    ancestors: (id) => upstream(at(id)),
    ordered: (a, b) => reach.ordered(at(a), at(b)),
    order: order.map((i) => ids[i]!),
    waves,
    wave: (id) => waveOf[at(id)]!,
    weightUnit: unit,
    weight: (id) => weights[at(id)]!,
    remaining: (id) => remaining[at(id)]!,
    criticalPath,
    conflicts,
    conflictsOf: (id) => names(conflictSets[at(id)]!),
    effectiveConcurrency(cap) {
      if (widest === undefined) {
        const layers = [...groupByLayer(waveOf), ...groupByLayer(heightsOf(order, dependents))];
        widest = widestRunnableLayer(layers, conflictSets);
      }
      return Math.max(n === 0 ? 0 : 1, Math.min(cap, widest));
    },
  };
  return ok(graph);
}
