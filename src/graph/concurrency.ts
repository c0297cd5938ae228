/**
 * How many tasks can really run together: see `TaskGraph.effectiveConcurrency`.
 * Each layer (an ASAP wave or an ALAP layer) is a set of mutually unordered tasks; inside
 * one, file conflicts remove tasks. The largest set of pairwise non-conflicting tasks is
 * NP-hard in general, so a greedy pass (fewest conflicts first, ties by id) gives a set
 * that surely exists — an honest lower bound rather than an optimistic guess.
 */
export function widestRunnableLayer(layers: readonly (readonly number[])[], conflicts: readonly ReadonlySet<number>[]): number {
  let best = 0;
  for (const layer of layers) {
    if (layer.length <= best) continue;
    best = Math.max(best, greedyIndependent(layer, conflicts));
  }
  return best;
}

function greedyIndependent(layer: readonly number[], conflicts: readonly ReadonlySet<number>[]): number {
  const inLayer = new Set(layer);
  const degree = new Map<number, number>();
  for (const v of layer) {
    let d = 0;
    for (const w of conflicts[v] ?? []) if (inLayer.has(w)) d++;
    degree.set(v, d);
  }
  if ([...degree.values()].every((d) => d === 0)) return layer.length;
  const remaining = new Set(layer);
  let kept = 0;
  while (remaining.size > 0) {
    let pick = -1;
    for (const v of remaining) {
      if (pick < 0 || degree.get(v)! < degree.get(pick)! || (degree.get(v) === degree.get(pick) && v < pick)) pick = v;
    }
    kept++;
    const removed = [pick, ...[...(conflicts[pick] ?? [])].filter((w) => remaining.has(w))];
    for (const r of removed) remaining.delete(r);
    for (const r of removed) for (const w of conflicts[r] ?? []) if (remaining.has(w)) degree.set(w, degree.get(w)! - 1);
  }
  return kept;
}
