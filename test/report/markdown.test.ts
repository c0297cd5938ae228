import { describe, expect, it } from 'vitest';
import { STEP_SUMMARY_LIMIT } from '../../src/report/github.js';
import { gantt, renderMarkdown } from '../../src/report/markdown.js';
import type { RunSummary, SummaryTask } from '../../src/report/summary-model.js';

const T0 = 1_800_000_000_000;

/** A run of n tasks; every tenth failed with a long log; the first three are the critical path. */
function bigRun(n: number): RunSummary {
  const tasks: SummaryTask[] = Array.from({ length: n }, (_, i) => {
    const failed = i % 10 === 9;
    return {
      id: `task-${String(i).padStart(5, '0')}`,
      state: failed ? 'failed' : 'merged',
      attempts: failed ? 2 : 1,
      durationMs: 60_000,
      costUsd: 0.25,
      ...(failed ? { detail: `check \`npm test\` failed (exit 1) | <b>${i}</b>`, tail: Array.from({ length: 40 }, (_, k) => `${k}: ${'x'.repeat(180)}`) } : {}),
      dependsOn: i > 0 && i < 3 ? [`task-${String(i - 1).padStart(5, '0')}`] : [],
      critical: i < 3,
      segments: [
        { state: 'ready', from: T0 + i * 1000, to: T0 + i * 1000 + 500 },
        { state: 'running', from: T0 + i * 1000 + 500, to: T0 + i * 1000 + 60_000 },
      ],
    };
  });
  return {
    run: {
      name: 'big',
      into: 'swarm/big',
      base: 'a'.repeat(40),
      outcome: 'failed',
      startedAt: T0,
      endedAt: T0 + n * 1000 + 60_000,
      concurrency: 8,
      costUsd: n * 0.25,
      resumed: false,
    },
    lowerBound: { ms: 180_000, ratio: 2.5 },
    criticalPath: tasks.slice(0, 3).map((t) => t.id),
    tasks,
  };
}

const bytes = (s: string) => Buffer.byteLength(s);

describe('the markdown summary', () => {
  it('fits a large run into GitHub’s 1 MiB step summary, and says what it cut', () => {
    const run = bigRun(3000);
    const whole = renderMarkdown(run);
    expect(bytes(whole)).toBeGreaterThan(STEP_SUMMARY_LIMIT);
    const room = STEP_SUMMARY_LIMIT - 1000; // what the step had written before
    const md = renderMarkdown(run, { maxBytes: room });
    expect(bytes(md)).toBeLessThanOrEqual(room);
    expect(md).toContain("Shortened to fit GitHub's 1 MiB step summary: the last 10 lines of each failure's log.");
    // Every task keeps its row, every failure its headline and the end of its log.
    expect(md.match(/^\| `task-\d{5}`/gm)).toHaveLength(3000);
    expect(md.match(/^#### `task-\d{5}`: failed after 2 attempts$/gm)).toHaveLength(300);
    expect(md).toContain(`39: ${'x'.repeat(180)}\n`);
    expect(md).not.toContain(`29: ${'x'.repeat(180)}\n`);
    // Table cells cannot break the table or carry HTML.
    expect(md).toContain('| check \\`npm test\\` failed (exit 1) \\| \\<b\\>9\\</b\\> |');
  });

  it('cuts rows, then failures, when even that is too much, and keeps the outcome', () => {
    const md = renderMarkdown(bigRun(3000), { maxBytes: 20_000 });
    expect(bytes(md)).toBeLessThanOrEqual(20_000);
    expect(md.startsWith('## swarm run `big`: ❌ failed\n')).toBe(true);
    const rows = md.match(/^\| `task-\d{5}`/gm)?.length ?? 0;
    expect(rows).toBeGreaterThan(50);
    expect(rows).toBeLessThan(3000);
    expect(md).toContain(`| … | ${3000 - rows} more | | | | |`);
    expect(md).toContain(`${rows} of 3000 tasks in the table`);
    expect(md).toContain('no timeline');
    expect(md).not.toContain('```mermaid');
  });

  it('keeps the Mermaid chart under Mermaid’s size limit, the critical path first', () => {
    const chart = gantt(bigRun(3000))!;
    const body = /```mermaid\n([\s\S]*?)\n```/.exec(chart)![1]!;
    expect(body.length).toBeLessThanOrEqual(45_000);
    for (const id of ['task-00000', 'task-00001', 'task-00002']) expect(body).toContain(`section ${id} ⚑\n`);
    const kept = body.match(/^ {2}section /gm)!.length;
    expect(chart).toContain(`${3000 - kept} tasks left out of the chart (Mermaid's size limit).`);
    expect(body).toMatch(/^ {2}agent :crit, \d{13}, \d{13}$/m);
    expect(body).toMatch(/^ {2}waits for a slot :done, \d{13}, \d{13}$/m);
  });

  it('fences a log that holds backticks with a longer fence', () => {
    const run = bigRun(10);
    const tasks = run.tasks.map((t) => (t.state === 'failed' ? { ...t, tail: ['```js', 'x', '````'] } : t));
    const md = renderMarkdown({ ...run, tasks });
    expect(md).toContain('`````text\n```js\nx\n````\n`````');
  });
});
