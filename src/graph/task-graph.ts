import type { TaskSpec } from '../config/spec.js';

/**
 * Two tasks that could run at the same time (neither depends on the other, even
 * transitively) but whose file globs overlap. The scheduler never runs them at once.
 * `a < b`; `globA` is one of a's globs, `globB` one of b's.
 */
export interface Conflict {
  readonly a: string;
  readonly b: string;
  readonly globA: string;
  readonly globB: string;
  /** A tracked file both tasks' globs match, when the repository has one. */
  readonly path?: string;
}

/**
 * What task weights are measured in.
 * - `ms`: at least one task has a learnt duration or an `estimate`; weights are
 *   milliseconds, and a task with neither weighs the median of the known ones (an
 *   unknown task is a typical task, not a free one).
 * - `tasks`: nothing is known; every task weighs 1, so a path's length is its task count.
 */
export type WeightUnit = 'ms' | 'tasks';

export interface CriticalPath {
  /** From a source to a sink, in run order. */
  readonly tasks: readonly string[];
  readonly length: number;
}

/** The validated task graph. Every list is sorted by id unless it says otherwise. */
export interface TaskGraph {
  readonly ids: readonly string[];
  task(id: string): TaskSpec;
  /** Direct dependencies. */
  dependencies(id: string): readonly string[];
  /** Tasks that list this one in `depends_on`. */
  dependents(id: string): readonly string[];
  /** Everything downstream, transitively. */
  descendants(id: string): readonly string[];
  /** Everything upstream, transitively. */
  ancestors(id: string): readonly string[];
  /** Whether one of the two must finish before the other starts. */
  ordered(a: string, b: string): boolean;
  /** Topological; among tasks ready at the same point, the smaller id comes first. */
  readonly order: readonly string[];
  /** Wave k holds the tasks whose longest dependency chain has k links. */
  readonly waves: readonly (readonly string[])[];
  wave(id: string): number;
  readonly weightUnit: WeightUnit;
  weight(id: string): number;
  /** Heaviest path from this task to any sink, this task included: the scheduler's priority. */
  remaining(id: string): number;
  readonly criticalPath: CriticalPath;
  /** Sorted by (a, b). */
  readonly conflicts: readonly Conflict[];
  /** The tasks that must not run beside this one because of file overlap. */
  conflictsOf(id: string): readonly string[];
  /**
   * An estimate of how many tasks can really run at once with `cap` slots: for each
   * layer of mutually independent tasks (the waves, and the same layering taken from the
   * sinks backwards), greedily keep tasks that do not conflict on files; the largest such
   * set, capped by `cap`. It is a lower bound on the true peak (tasks from different
   * layers can overlap in time when durations differ), never more than `cap`.
   */
  effectiveConcurrency(cap: number): number;
}
