import type { Lease, LeaseStore } from '../engine/ports.js';

export interface LeaseKeeperOptions {
  /** Called once if a renewal finds the lease gone (taken over) or throws; the keeper stops. */
  readonly onLost?: (reason: string) => void;
  /** @default ttlMs / 3, so two renewals can fail before the lease expires */
  readonly intervalMs?: number;
}

/** Renews one lease at a third of its TTL until stopped. The timer never keeps the process alive. */
export class LeaseKeeper {
  readonly #store: LeaseStore;
  readonly #lease: Pick<Lease, 'id' | 'token'>;
  readonly #ttlMs: number;
  readonly #onLost: ((reason: string) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: LeaseStore, lease: Pick<Lease, 'id' | 'token'>, ttlMs: number, options: LeaseKeeperOptions = {}) {
    this.#store = store;
    this.#lease = lease;
    this.#ttlMs = ttlMs;
    this.#onLost = options.onLost;
    this.#timer = setInterval(() => this.renewNow(), options.intervalMs ?? Math.max(1, Math.floor(ttlMs / 3)));
    this.#timer.unref();
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Renews at once; false (and `onLost`) when the lease is no longer ours. */
  renewNow(): boolean {
    if (this.#timer === undefined) return false;
    let reason: string | undefined;
    try {
      if (!this.#store.renew(this.#lease.id, this.#lease.token, this.#ttlMs)) reason = `lease ${this.#lease.id} was taken over`;
    } catch (error) {
      reason = `renewing lease ${this.#lease.id} failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (reason === undefined) return true;
    this.stop();
    this.#onLost?.(reason);
    return false;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
