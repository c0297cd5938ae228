/**
 * The account's usage limit (claude's `rate_limit_event` rejected, codex's
 * `usage_limit_reached`) is not a task's failure: every agent on the same login hits it, and
 * it lifts at a known time. So the task that hit it spends no retry, no new task starts, and
 * the run either waits for the reset, when it is within `limits.max_wait`, and then resumes
 * the agent's session, or stops, resumable, with `usage limit reached; it resets at 14:00
 * (in 2h13m): run again then` (exit 75). Knows nothing of agents or the store: the engine
 * hands it what the agent said and the few things it may do.
 */
import type { Clock } from './ports.js';
import { formatDuration } from '../util/duration.js';

/** What the policy may do to the run: tell the reporters, and stop it. */
export interface UsageLimitHooks {
  readonly emit: (event: UsageNews) => void;
  /** Stops the run as if the user had, with this as the reason (resumable). */
  readonly stop: (message: string) => void;
}

/** The usage events, without the run and time the engine stamps on them. */
export type UsageNews =
  | { readonly reason: 'waiting'; readonly task: string; readonly resetsAt: number; readonly resumeAt: number }
  | { readonly reason: 'stopped'; readonly task: string; readonly resetsAt?: number; readonly message: string }
  | { readonly reason: 'reset' };

/** Past the reset, before anything starts again: the API's clock and ours differ a little. */
const GRACE_MS = 1000;
/** A limit still there after its reset: wait again, each time twice as long past it, up to this. */
const MAX_GRACE_MS = 5 * 60_000;

export class UsageLimit {
  readonly #maxWaitMs: number;
  readonly #clock: Clock;
  readonly #hooks: UsageLimitHooks;
  readonly #baseGraceMs: number;
  #graceMs: number;
  /** No agent starts before this (ms since the epoch). */
  #until = 0;
  #timer: NodeJS.Timeout | undefined;
  #waiters: ((ranOut: boolean) => void)[] = [];
  #stopMessage: string | undefined;

  constructor(maxWaitMs: number, clock: Clock, hooks: UsageLimitHooks, graceMs = GRACE_MS) {
    this.#maxWaitMs = maxWaitMs;
    this.#clock = clock;
    this.#hooks = hooks;
    this.#baseGraceMs = graceMs;
    this.#graceMs = graceMs;
  }

  /** Set once the run stopped on the limit: the message for the user. */
  get stopMessage(): string | undefined {
    return this.#stopMessage;
  }

  /** Whether agents must wait before they start. */
  get paused(): boolean {
    return this.#waiters.length > 0 || this.#until > this.#clock.now();
  }

  /**
   * A task's agent hit the limit. Resolves true once the limit has reset (the agent may go
   * on), false when the run stops instead (the reset is too far, unknown, or the run was
   * stopped while it waited).
   */
  async hit(task: string, resetsAt: number | undefined): Promise<boolean> {
    if (this.#stopMessage !== undefined) return false;
    const now = this.#clock.now();
    // A reset already past: the limit outlived it, so each such hit waits twice as long as
    // the last past it; a reset still to come is a new window.
    if (resetsAt !== undefined) this.#graceMs = resetsAt > now ? this.#baseGraceMs : Math.min(MAX_GRACE_MS, this.#graceMs * 2);
    const resumeAt = resetsAt === undefined ? undefined : Math.max(resetsAt, now) + this.#graceMs;
    if (resetsAt === undefined || resumeAt === undefined || this.#maxWaitMs <= 0 || resumeAt - now > this.#maxWaitMs + this.#baseGraceMs) {
      this.#stopMessage = usageLimitMessage(resetsAt, now);
      this.#hooks.emit({ reason: 'stopped', task, ...(resetsAt === undefined ? {} : { resetsAt }), message: this.#stopMessage });
      this.#hooks.stop(this.#stopMessage);
      return false;
    }
    if (resumeAt > this.#until) {
      this.#until = resumeAt;
      this.#hooks.emit({ reason: 'waiting', task, resetsAt, resumeAt });
    }
    return this.wait();
  }

  /** Waits out the pause, if any. True when it ran out, false when the run stopped meanwhile. */
  wait(): Promise<boolean> {
    if (this.#stopMessage !== undefined) return Promise.resolve(false);
    if (!this.paused) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#arm();
    });
  }

  /** The run is stopping: every wait ends now, with false. */
  cancel(): void {
    this.#release(false);
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        // A later hit may have pushed the end further.
        if (this.#until > this.#clock.now()) return this.#arm();
        this.#hooks.emit({ reason: 'reset' });
        this.#release(true);
      },
      Math.max(0, this.#until - this.#clock.now()),
    );
  }

  #release(ranOut: boolean): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!ranOut) this.#until = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(ranOut);
  }
}

/** `usage limit reached; it resets at 14:00 (in 2h13m): run again then`. */
export function usageLimitMessage(resetsAt: number | undefined, now: number): string {
  if (resetsAt === undefined) return 'usage limit reached; the agent did not say when it resets: run again later';
  return `usage limit reached; it resets at ${clockTime(resetsAt, now)} (in ${formatDuration(Math.max(0, resetsAt - now))}): run again then`;
}

/** `14:00` today, `2026-12-03 14:00` on another day; local time. */
export function clockTime(at: number, now: number): string {
  const d = new Date(at);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return new Date(now).toDateString() === d.toDateString() ? hm : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** What a resumed session is told after the wait. */
export function usageResetFollowUp(): string {
  return [
    '## The usage limit has reset',
    '',
    "The account's usage limit stopped you in the middle of the task; it has reset now.",
    'Look at the current state of your files, then continue the task where you left off, staying within your files.',
    '',
  ].join('\n');
}
