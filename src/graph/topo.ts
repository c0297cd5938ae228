/**
 * Order and layering over tasks numbered by sorted id (index i is the i-th smallest id),
 * so "ties by id" is "ties by index".
 */

/**
 * Kahn's algorithm with a min-heap: the smallest ready index goes next, which makes the
 * order stable under any reordering of the file. Assumes no cycle.
 */
export function stableTopoOrder(count: number, deps: readonly (readonly number[])[], dependents: readonly (readonly number[])[]): number[] {
  const pending = deps.map((d) => d.length);
  const heap = new MinHeap();
  for (let i = 0; i < count; i++) if (pending[i] === 0) heap.push(i);
  const order: number[] = [];
  while (heap.size > 0) {
    const v = heap.pop();
    order.push(v);
    for (const w of dependents[v]!) if (--pending[w]! === 0) heap.push(w);
  }
  return order;
}

/** ASAP layers: a task's wave is one more than its latest dependency's. */
export function wavesOf(order: readonly number[], deps: readonly (readonly number[])[]): number[] {
  const wave = new Array<number>(deps.length).fill(0);
  for (const v of order) for (const d of deps[v]!) wave[v] = Math.max(wave[v]!, wave[d]! + 1);
  return wave;
}

/** ALAP layers, counted back from the sinks: 0 for a task nothing depends on. */
export function heightsOf(order: readonly number[], dependents: readonly (readonly number[])[]): number[] {
  const height = new Array<number>(dependents.length).fill(0);
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!;
    for (const w of dependents[v]!) height[v] = Math.max(height[v]!, height[w]! + 1);
  }
  return height;
}

export function groupByLayer(layer: readonly number[]): number[][] {
  const groups: number[][] = [];
  for (const [i, l] of layer.entries()) (groups[l] ??= []).push(i);
  return groups.map((g) => g ?? []);
}

class MinHeap {
  readonly #items: number[] = [];
  get size(): number {
    return this.#items.length;
  }
  push(x: number): void {
    const a = this.#items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.#items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
