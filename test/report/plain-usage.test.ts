import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import { createPlainReporter } from '../../src/report/plain.js';

const T0 = new Date(2026, 11, 2, 11, 47, 0).getTime();

function plain(events: readonly SwarmEvent[]): string {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const reporter = createPlainReporter({ out: sink, file: 'swarm.yaml' });
  for (const e of events) reporter.handle(e);
  return out;
}

const base = { run: 'r' } as const;
const started: SwarmEvent = { ...base, at: T0, type: 'run', reason: 'started', into: 'swarm/r', base: 'abc1234def', concurrency: 2, resumed: false, tasks: [] };

describe('the plain reporter on a usage limit', () => {
  it('says the run waits, until when, and that it went on', () => {
    const resetsAt = new Date(2026, 11, 2, 11, 50, 0).getTime();
    const text = plain([
      started,
      { ...base, at: T0 + 5000, type: 'usage', reason: 'waiting', task: 'auth', resetsAt, resumeAt: resetsAt + 1000 },
      { ...base, at: resetsAt + 1000, type: 'usage', reason: 'reset' },
    ]);
    expect(text).toContain('[00:05] auth       usage limit reached; it resets at 11:50: waiting 2m56s (limits.max_wait), no new task starts\n');
    expect(text).toContain('swarm: the usage limit has reset: going on\n');
  });

  it('says when to run again when the run stops on it, and the outcome', () => {
    const message = 'usage limit reached; it resets at 14:00 (in 2h13m): run again then';
    const text = plain([
      started,
      { ...base, at: T0 + 1000, type: 'usage', reason: 'stopped', task: 'auth', resetsAt: T0 + 7_980_000, message },
      { ...base, at: T0 + 2000, type: 'run', reason: 'finished', outcome: 'usage-limit', merged: 0, total: 2, costUsd: 0, durationMs: 2000 },
    ]);
    expect(text).toContain(`[00:01] auth       ${message}\n`);
    expect(text).toContain('swarm: usage-limit: 0/2 merged in 2s\n  resume with: swarm run swarm.yaml\n');
  });
});
