/**
 * Every elementary cycle of the "depends on" relation, named by its members in order,
 * each cycle starting at its smallest id and cycles listed in a stable order.
 * Johnson's algorithm, run inside each strongly connected component (found by graphlib's
 * Tarjan), with a cap: a tangle of a few dozen tasks can hold millions of cycles, and
 * past a handful the user needs the component, not the list.
 */
import { alg, type Graph } from '@dagrejs/graphlib';

export interface CycleReport {
  /** Each cycle as `[a, b, c]`, meaning a depends on b, b on c, c on a. */
  readonly cycles: readonly (readonly string[])[];
  /** Components whose cycles were not all listed, with their members (sorted). */
  readonly truncated: readonly (readonly string[])[];
}

/** Most cycles listed per component. */
export const MAX_CYCLES_PER_COMPONENT = 20;

/**
 * @param graph edges point from a task to each task it depends on
 * @param dependsOn the same edges as sorted lists, for a deterministic walk
 */
export function findDependencyCycles(graph: Graph, dependsOn: (id: string) => readonly string[]): CycleReport {
  const cycles: string[][] = [];
  const truncated: string[][] = [];
  const components = alg
    .tarjan(graph)
    .map((c) => [...c].sort())
    .filter((c) => c.length > 1 || (c.length === 1 && graph.hasEdge(c[0]!, c[0]!)))
    .sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  for (const component of components) {
    const found = cyclesIn(component, dependsOn, MAX_CYCLES_PER_COMPONENT + 1);
    if (found.length > MAX_CYCLES_PER_COMPONENT) {
      cycles.push(...found.slice(0, MAX_CYCLES_PER_COMPONENT));
      truncated.push(component);
    } else {
      cycles.push(...found);
    }
  }
  return { cycles, truncated };
}

function cyclesIn(members: readonly string[], dependsOn: (id: string) => readonly string[], limit: number): string[][] {
  const rank = new Map(members.map((id, i) => [id, i]));
  const out: string[][] = [];
  for (let s = 0; s < members.length && out.length < limit; s++) {
    // Johnson: cycles through members[s] that use only members ranked >= s.
    const start = members[s]!;
    const next = (v: string) => dependsOn(v).filter((w) => (rank.get(w) ?? -1) >= s);
    const blocked = new Set<string>();
    const blockers = new Map<string, Set<string>>();
    const path: string[] = [];
    const unblock = (v: string): void => {
      const todo = [v];
      while (todo.length > 0) {
        const u = todo.pop()!;
        if (!blocked.delete(u)) continue;
        const waiting = blockers.get(u);
        if (waiting === undefined) continue;
        blockers.delete(u);
        todo.push(...waiting);
      }
    };
    const circuit = (v: string): boolean => {
      let closed = false;
      path.push(v);
      blocked.add(v);
      for (const w of next(v)) {
        if (out.length >= limit) break;
        if (w === start) {
          out.push([...path]);
          closed = true;
        } else if (!blocked.has(w) && circuit(w)) {
          closed = true;
        }
      }
      if (closed) {
        unblock(v);
      } else {
        for (const w of next(v)) {
          let set = blockers.get(w);
          if (set === undefined) blockers.set(w, (set = new Set()));
          set.add(v);
        }
      }
      path.pop();
      return closed;
    };
    circuit(start);
  }
  return out;
}
