import { afterEach, describe, expect, it, vi } from 'vitest';
import { headerNotices } from '../../src/tui/components/header.js';
import { TuiStore } from '../../src/tui/store.js';
import { ev, RUN, sampleEvents, started, state, storeFrom, T0, TASKS } from './fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

function nextNotification(store: TuiStore): Promise<void> {
  return new Promise((resolve) => {
    const off = store.subscribe(() => {
      off();
      resolve();
    });
  });
}

describe('derived state', () => {
  const view = storeFrom(sampleEvents()).getSnapshot();
  const task = (id: string) => view.tasks.find((t) => t.id === id)!;

  it('keeps the run, the tasks in file order and their states', () => {
    expect(view.name).toBe(RUN);
    expect(view.into).toBe(`swarm/${RUN}`);
    expect(view.startedAt).toBe(T0);
    expect(view.tasks.map((t) => t.id)).toEqual(TASKS.map((t) => t.id));
    expect(Object.fromEntries(view.tasks.map((t) => [t.id, t.state]))).toEqual({
      db: 'merged',
      auth: 'running',
      api: 'checking',
      web: 'pending',
      cli: 'failed',
      search: 'waiting',
      docs: 'pending',
      ui: 'pending',
    });
  });

  it('adds up turns and cost over attempts, and the run total', () => {
    expect(task('auth').attempt).toBe(2);
    expect(task('auth').turns).toBe(12);
    expect(task('auth').costUsd).toBeCloseTo(0.41);
    expect(view.costUsd).toBeCloseTo(0.52 + 0.41 + 0.2 + 1.1);
  });

  it('times a task from its start to its end', () => {
    expect(task('db').startedAt).toBe(T0 + 2000);
    expect(task('db').endedAt).toBe(T0 + 44_000);
    expect(task('auth').endedAt).toBeUndefined();
  });

  it('shows the current action, and forgets it when the task ends', () => {
    expect(task('auth').action).toBe('Edit src/auth/login.ts');
    expect(task('api').action).toBe('check: npm test -- api');
    expect(task('db').action).toBeUndefined();
  });

  it('takes a command agent’s last line of output as its action, until it exits', () => {
    const store = storeFrom([
      started(TASKS),
      state(1, 'db', 'pending', 'running'),
      ev(2, { type: 'agent', reason: 'output', task: 'db', attempt: 1, text: 'Thinking about it.\nWrite src/db/pool.ts\n\n' }),
    ]);
    expect(store.getSnapshot().tasks[0]!.action).toBe('Write src/db/pool.ts');
    store.handle(ev(3, { type: 'agent', reason: 'exited', task: 'db', attempt: 1, ok: true, exitCode: 0, signal: null }));
    store.dispose();
    expect(store.getSnapshot().tasks[0]!.action).toBe('agent finished');
  });

  it('says why a task failed or waits', () => {
    expect(task('cli').reason).toBe('agent failed: max turns reached');
    expect(task('search').reason).toBe('files held by api');
  });

  it('derives the live leases from acquired and released events', () => {
    expect(view.leases).toEqual([
      { task: 'auth', globs: ['src/auth/**'], token: 3 },
      { task: 'api', globs: ['src/api/**'], token: 4 },
    ]);
  });

  it('keeps the rate limit and the lowered concurrency', () => {
    expect(view.limit).toEqual({ concurrency: 2, max: 4 });
    expect(view.rateLimit).toEqual({ task: 'auth', error: 'API overloaded (HTTP 529)', retryAttempt: 2, until: T0 + 205_000 });
  });

  it('keeps a log tail with output split into lines and check failures', () => {
    expect(task('auth').log).toContain('Reading the auth module first.');
    expect(task('auth').log).toContain('There are 14 callbacks.');
    expect(task('auth').log).toContain('check failed (exit 1): npm test -- auth');
    expect(task('auth').log).toContain('    expected 200, got 401');
    expect(task('auth').log.at(-1)).toBe('API overloaded (HTTP 529); retry 2 in 20s');
  });
});

describe('the merge queue', () => {
  it('lists queued tasks in order, marks the one merging, drops merged and conflicted', () => {
    const store = storeFrom([
      started(TASKS),
      ev(1, { type: 'merge', reason: 'queued', task: 'db' }),
      ev(2, { type: 'merge', reason: 'queued', task: 'api' }),
      ev(3, { type: 'merge', reason: 'queued', task: 'cli' }),
      ev(4, { type: 'merge', reason: 'started', task: 'db' }),
    ]);
    expect(store.getSnapshot().mergeQueue).toEqual([
      { task: 'db', merging: true },
      { task: 'api', merging: false },
      { task: 'cli', merging: false },
    ]);
    store.handle(ev(5, { type: 'merge', reason: 'merged', task: 'db', commit: 'abcdef0123456' }));
    store.handle(ev(6, { type: 'merge', reason: 'started', task: 'api' }));
    store.handle(ev(7, { type: 'merge', reason: 'conflict', task: 'api', files: ['src/api/x.ts'] }));
    store.dispose();
    expect(store.getSnapshot().mergeQueue).toEqual([{ task: 'cli', merging: false }]);
  });
});

describe('logs', () => {
  it('strips escape sequences and control characters from agent output', () => {
    const store = storeFrom([
      started(TASKS),
      ev(1, { type: 'agent', reason: 'output', task: 'db', attempt: 1, text: '\u001b[31mred\u001b[0m\rdone\u0007\n\n' }),
    ]);
    expect(store.getSnapshot().tasks[0]!.log).toEqual(['red', 'done']);
  });

  it('keeps only the newest lines and counts the rest', () => {
    const store = new TuiStore({ now: () => T0, logLines: 5 });
    store.handle(started(TASKS));
    for (let i = 1; i <= 12; i += 1) store.handle(ev(i, { type: 'agent', reason: 'output', task: 'db', attempt: 1, text: `line ${i}` }));
    store.dispose();
    const db = store.getSnapshot().tasks[0]!;
    expect(db.log).toEqual(['line 8', 'line 9', 'line 10', 'line 11', 'line 12']);
    expect(db.logTotal).toBe(12);
  });
});

describe('snapshots', () => {
  it('are the same object until something changes, and share unchanged tasks', () => {
    const store = storeFrom(sampleEvents());
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    store.handle(ev(200, { type: 'agent', reason: 'tool', task: 'auth', attempt: 2, tool: 'Read', summary: 'src/auth/session.ts' }));
    store.dispose();
    const second = store.getSnapshot();
    expect(second).not.toBe(first);
    expect(second.tasks.find((t) => t.id === 'auth')!.action).toBe('Read src/auth/session.ts');
    expect(first.tasks.find((t) => t.id === 'auth')!.action).toBe('Edit src/auth/login.ts');
    expect(second.tasks.find((t) => t.id === 'db')).toBe(first.tasks.find((t) => t.id === 'db'));
  });

  it('leave the task list alone when only the run changes', () => {
    const store = storeFrom(sampleEvents());
    const first = store.getSnapshot();
    store.handle(ev(200, { type: 'limit', reason: 'raised', concurrency: 4, max: 4 }));
    store.dispose();
    expect(store.getSnapshot().tasks).toBe(first.tasks);
    expect(store.getSnapshot().limit).toEqual({ concurrency: 4, max: 4 });
  });
});

describe('throttling', () => {
  it('coalesces a burst of 1,000 events into one notification', async () => {
    const store = new TuiStore();
    let notified = 0;
    store.subscribe(() => {
      notified += 1;
    });
    store.handle(started(TASKS));
    for (let i = 0; i < 1000; i += 1) {
      store.handle(ev(1, { type: 'agent', reason: 'tool', task: 'db', attempt: 1, tool: 'Read', summary: `file ${i}` }));
    }
    expect(notified).toBe(0);
    await nextNotification(store);
    expect(notified).toBe(1);
    expect(store.getSnapshot().tasks[0]!.action).toBe('Read file 999');
    store.dispose();
  });

  it('notifies at most 30 times a second while events keep coming', () => {
    vi.useFakeTimers({ now: T0 });
    const store = new TuiStore();
    let notified = 0;
    store.subscribe(() => {
      notified += 1;
    });
    store.handle(started(TASKS));
    // 1,000 events, one every 2 ms: two seconds of a busy run.
    for (let i = 0; i < 1000; i += 1) {
      store.handle(ev(1, { type: 'agent', reason: 'output', task: 'db', attempt: 1, text: `line ${i}` }));
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(100);
    expect(notified).toBeGreaterThanOrEqual(50);
    expect(notified).toBeLessThanOrEqual(62);
    expect(store.getSnapshot().tasks[0]!.log.at(-1)).toBe('line 999');
    store.dispose();
  });

  it('tells listeners at once when the run finishes', () => {
    const store = new TuiStore();
    let notified = 0;
    store.subscribe(() => {
      notified += 1;
    });
    store.handle(started(TASKS));
    store.handle(ev(9, { type: 'run', reason: 'finished', outcome: 'failed', merged: 1, total: 8, costUsd: 2.5, durationMs: 9000 }));
    expect(notified).toBe(1);
    expect(store.getSnapshot().finished).toEqual({ outcome: 'failed', merged: 1, total: 8, costUsd: 2.5, durationMs: 9000 });
    expect(store.getSnapshot().costUsd).toBe(2.5);
    store.dispose();
  });

  it('ticks the spinner only while something works, and the clock once a second', () => {
    let now = T0;
    const store = new TuiStore({ now: () => now });
    store.handle(started(TASKS));
    store.flush();
    const frame = store.getSnapshot().frame;
    store.tick();
    now += 100;
    store.tick();
    store.dispose();
    // Nothing is running: the second tick within the same second changes nothing.
    expect(store.getSnapshot().frame).toBe(frame + 1);
    store.handle(state(1, 'db', 'pending', 'running'));
    store.tick();
    now += 100;
    store.tick();
    store.dispose();
    expect(store.getSnapshot().frame).toBe(frame + 3);
    expect(store.getSnapshot().now).toBe(now);
  });
});

describe('a tool call Claude Code refused', () => {
  it('goes into the task log with the allowed_tools hint, and marks the task in the table', () => {
    const denied = (at: number) =>
      ev(at, {
        type: 'agent',
        reason: 'denied',
        task: 'db',
        attempt: 1,
        tool: 'Bash',
        summary: 'Bash npm test 2>&1 | tail -5',
        suggestion: 'Bash(npm test:*)',
      });
    const store = storeFrom([started(TASKS), state(1, 'db', 'pending', 'running'), denied(2), denied(3)]);
    const db = store.getSnapshot().tasks.find((t) => t.id === 'db')!;
    expect(db.denied).toBe(2);
    expect(db.log).toContain('refused by Claude Code: Bash npm test 2>&1 | tail -5 (allow it with agent.allowed_tools: Bash(npm test:*))');
    expect(store.getSnapshot().tasks.find((t) => t.id === 'auth')!.denied).toBe(0);
  });
});

describe('the usage limit', () => {
  const hhmm = (at: number) => `${String(new Date(at).getHours()).padStart(2, '0')}:${String(new Date(at).getMinutes()).padStart(2, '0')}`;
  const resetsAt = T0 + 2 * 3600_000;
  const waiting = ev(10, { type: 'usage', reason: 'waiting', task: 'auth', resetsAt, resumeAt: resetsAt + 1000 });

  it('the header counts down to the reset while the run waits, and drops it once the limit reset', () => {
    const view = storeFrom([started(TASKS), waiting], 70).getSnapshot();
    expect(view.usage).toEqual({ resetsAt, resumeAt: resetsAt + 1000 });
    // From 12:01:10 to 14:00:01: 1:58:51 left.
    expect(headerNotices(view)).toContain(`⏸ usage limit reached; it resets at ${hhmm(resetsAt)}: going on in 1:58:51, no new task starts`);
    const after = storeFrom([started(TASKS), waiting, ev(7202, { type: 'usage', reason: 'reset' })], 7202).getSnapshot();
    expect(after.usage).toBeUndefined();
    expect(headerNotices(after).some((n) => n.includes('usage limit'))).toBe(false);
  });

  it('a stop on the limit shows its message', () => {
    const message = 'usage limit reached; it resets at 14:00 (in 2h00m): run again then';
    const view = storeFrom([started(TASKS), ev(10, { type: 'usage', reason: 'stopped', task: 'auth', resetsAt, message })], 11).getSnapshot();
    expect(headerNotices(view)).toContain(`⚠ ${message}`);
  });
});
