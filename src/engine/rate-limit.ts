/**
 * Adapts how many agents may start at once to the model API's rate limits. A burst of
 * `api_retry` events halves the limit once (at least 1): every agent hits the same limit at
 * about the same time, so retries within a quarter of `recoverMs` (15 s by default) of the
 * last lowering are the same burst and do not lower it again. After `recoverMs` without a
 * retry, the limit climbs back one step at a time to the configured cap.
 */
export class RateLimiter {
  readonly max: number;
  #limit: number;
  #lastRetryAt = Number.NEGATIVE_INFINITY;
  #lastChangeAt = Number.NEGATIVE_INFINITY;
  readonly #recoverMs: number;

  constructor(max: number, recoverMs: number) {
    this.max = max;
    this.#limit = max;
    this.#recoverMs = recoverMs;
  }

  get limit(): number {
    return this.#limit;
  }

  get limited(): boolean {
    return this.#limit < this.max;
  }

  /** An api_retry was seen. Returns the new limit when it changed: the first retry of a burst halves it. */
  onRetry(now: number): number | undefined {
    this.#lastRetryAt = now;
    if (this.#limit === 1 || now - this.#lastChangeAt < this.#recoverMs / 4) return undefined;
    this.#limit = Math.max(1, Math.floor(this.#limit / 2));
    this.#lastChangeAt = now;
    return this.#limit;
  }

  /** Called periodically. Returns the new limit when it rose. */
  tick(now: number): number | undefined {
    if (this.#limit >= this.max) return undefined;
    if (now - this.#lastRetryAt < this.#recoverMs || now - this.#lastChangeAt < this.#recoverMs) return undefined;
    this.#limit += 1;
    this.#lastChangeAt = now;
    return this.#limit;
  }
}
