/**
 * Transitive reachability as one bitset per task: 2,000 tasks take 500 KB and answer
 * "is a upstream of b?" in one lookup, which the O(n^2) conflict scan needs.
 */
export class Reach {
  readonly #words: number;
  readonly #bits: Uint32Array;

  /** `order` topological; `dependents[v]` the direct successors of v. */
  constructor(count: number, order: readonly number[], dependents: readonly (readonly number[])[]) {
    this.#words = (count + 31) >>> 5;
    this.#bits = new Uint32Array(this.#words * count);
    for (let k = order.length - 1; k >= 0; k--) {
      const v = order[k]!;
      const row = v * this.#words;
      for (const w of dependents[v]!) {
        const other = w * this.#words;
        this.#bits[row + (w >>> 5)]! |= 1 << (w & 31);
        for (let i = 0; i < this.#words; i++) this.#bits[row + i]! |= this.#bits[other + i]!;
      }
    }
  }

  /** Whether `to` is downstream of `from`. */
  reaches(from: number, to: number): boolean {
    return (this.#bits[from * this.#words + (to >>> 5)]! & (1 << (to & 31))) !== 0;
  }

  ordered(a: number, b: number): boolean {
    return this.reaches(a, b) || this.reaches(b, a);
  }

  /** Indices downstream of `from`, ascending. */
  descendants(from: number): number[] {
    const out: number[] = [];
    const row = from * this.#words;
    for (let i = 0; i < this.#words; i++) {
      let word = this.#bits[row + i]!;
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word);
        out.push(i * 32 + bit);
        word &= word - 1;
      }
    }
    return out;
  }
}
