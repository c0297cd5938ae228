import type { CriticalPath, WeightUnit } from './task-graph.js';

/**
 * Weights per task: a learnt duration, else the task's `estimate`, else the median of
 * the known ones; when nothing at all is known, 1 per task (unit `tasks`).
 */
export function weightsOf(known: readonly (number | undefined)[]): { unit: WeightUnit; weights: number[] } {
  const values = known.filter((w): w is number => w !== undefined && Number.isFinite(w) && w > 0).sort((x, y) => x - y);
  if (values.length === 0) return { unit: 'tasks', weights: known.map(() => 1) };
  const mid = values.length >> 1;
  const median = values.length % 2 === 1 ? values[mid]! : Math.round((values[mid - 1]! + values[mid]!) / 2);
  return { unit: 'ms', weights: known.map((w) => (w !== undefined && Number.isFinite(w) && w > 0 ? w : median)) };
}

/** Heaviest path from each task to a sink, the task itself included. */
export function remainingOf(order: readonly number[], dependents: readonly (readonly number[])[], weights: readonly number[]): number[] {
  const remaining = new Array<number>(weights.length).fill(0);
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!;
    let tail = 0;
    for (const w of dependents[v]!) tail = Math.max(tail, remaining[w]!);
    remaining[v] = weights[v]! + tail;
  }
  return remaining;
}

/**
 * Starts at the task with the most remaining work and follows, at each step, the
 * dependent with the most remaining work; ties go to the smaller index (smaller id).
 */
export function criticalPathOf(ids: readonly string[], dependents: readonly (readonly number[])[], remaining: readonly number[]): CriticalPath {
  let best = -1;
  for (let i = 0; i < remaining.length; i++) if (best < 0 || remaining[i]! > remaining[best]!) best = i;
  if (best < 0) return { tasks: [], length: 0 };
  const tasks: string[] = [];
  const length = remaining[best]!;
  for (let v = best; v >= 0; ) {
    tasks.push(ids[v]!);
    let next = -1;
    for (const w of dependents[v]!) if (next < 0 || remaining[w]! > remaining[next]! || (remaining[w] === remaining[next] && w < next)) next = w;
    v = next;
  }
  return { tasks, length };
}
