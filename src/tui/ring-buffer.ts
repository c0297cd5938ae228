/** Keeps the last `capacity` items; old ones fall off without copying the rest. */
export class RingBuffer<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #start = 0;
  #total = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** How many items were ever pushed, kept or not. */
  get total(): number {
    return this.#total;
  }

  push(item: T): void {
    this.#total += 1;
    if (this.#items.length < this.#capacity) {
      this.#items.push(item);
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.#capacity;
  }

  toArray(): T[] {
    return this.#start === 0 ? this.#items.slice() : [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
}
