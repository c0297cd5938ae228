import { describe, expect, it } from 'vitest';
import { clockTime, UsageLimit, type UsageNews, usageLimitMessage } from '../../src/engine/usage-limit.js';

const clock = { now: () => Date.now() };

function policy(maxWaitMs: number, graceMs = 10): { limit: UsageLimit; news: UsageNews[]; stops: string[] } {
  const news: UsageNews[] = [];
  const stops: string[] = [];
  const limit = new UsageLimit(maxWaitMs, clock, { emit: (n) => news.push(n), stop: (m) => stops.push(m) }, graceMs);
  return { limit, news, stops };
}

describe('usageLimitMessage', () => {
  it('says when the limit resets and how far that is', () => {
    const now = new Date(2026, 11, 2, 11, 47, 0).getTime();
    const at = new Date(2026, 11, 2, 14, 0, 0).getTime();
    expect(usageLimitMessage(at, now)).toBe('usage limit reached; it resets at 14:00 (in 2h13m): run again then');
    expect(clockTime(new Date(2026, 11, 3, 9, 5).getTime(), now)).toBe('2026-12-03 09:05');
    expect(usageLimitMessage(undefined, now)).toBe('usage limit reached; the agent did not say when it resets: run again later');
  });
});

describe('UsageLimit', () => {
  it('waits for a reset within max_wait: paused until it, then every waiter goes on', async () => {
    const { limit, news, stops } = policy(60_000);
    const resets = Date.now() + 150;
    const first = limit.hit('a', resets);
    const second = limit.hit('b', resets);
    expect(limit.paused).toBe(true);
    const starter = limit.wait();
    expect(await Promise.all([first, second, starter])).toEqual([true, true, true]);
    expect(Date.now()).toBeGreaterThanOrEqual(resets);
    expect(limit.paused).toBe(false);
    expect(news.map((n) => n.reason)).toEqual(['waiting', 'reset']);
    expect(stops).toEqual([]);
  });

  it('stops the run when the reset is beyond max_wait, unknown, or max_wait is 0; later hits stop nothing more', async () => {
    for (const [maxWait, resets] of [
      [60_000, Date.now() + 3_600_000],
      [60_000, undefined],
      [0, Date.now() + 1000],
    ] as const) {
      const { limit, news, stops } = policy(maxWait);
      expect(await limit.hit('a', resets)).toBe(false);
      expect(await limit.hit('b', resets)).toBe(false);
      expect(stops).toHaveLength(1);
      expect(limit.stopMessage).toBe(stops[0]);
      expect(news).toEqual([expect.objectContaining({ reason: 'stopped', task: 'a', message: stops[0] })]);
    }
  });

  it('a stop while waiting ends every wait with false', async () => {
    const { limit } = policy(60_000);
    const waiting = limit.hit('a', Date.now() + 30_000);
    const starter = limit.wait();
    limit.cancel();
    expect(await Promise.all([waiting, starter])).toEqual([false, false]);
  });

  it('a limit still there after its reset: waits again, longer past it each time', async () => {
    const { limit, news } = policy(60_000, 40);
    const resets = Date.now() + 20;
    expect(await limit.hit('a', resets)).toBe(true);
    const before = Date.now();
    expect(await limit.hit('a', resets)).toBe(true);
    // The grace doubled (40 -> 80ms) since the same reset came back.
    expect(Date.now() - before).toBeGreaterThanOrEqual(75);
    expect(news.map((n) => n.reason)).toEqual(['waiting', 'reset', 'waiting', 'reset']);
  });
});
