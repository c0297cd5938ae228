import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportJson } from '../../src/cli/commands/report.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

const repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.cleanup();
});

interface T {
  id: string;
  sleep: number;
  deps?: string[];
}

/** A command agent that sleeps SLEEP seconds and leaves one file: real processes, known durations. */
function yaml(name: string, tasks: T[]): string {
  return [
    'version: 1',
    `name: ${name}`,
    'concurrency: 1',
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: ["sh", "-c", "sleep $SLEEP; echo $SWARM_TASK > out-$SWARM_TASK.txt"]`,
    'tasks:',
    ...tasks.flatMap((t) => [
      `  - id: ${t.id}`,
      `    prompt: Do ${t.id}.`,
      `    files: ["out-${t.id}.txt"]`,
      `    depends_on: ${JSON.stringify(t.deps ?? [])}`,
      `    env: { SLEEP: "${t.sleep}" }`,
    ]),
  ].join('\n');
}

function repoWith(text: string): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  writeFileSync(join(repo.dir, 'swarm.yaml'), text);
  repo.git('add', 'swarm.yaml');
  repo.git('commit', '-q', '-m', 'swarm file');
  return repo;
}

async function run(repo: TempRepo, ...rest: (string | Record<string, string>)[]): Promise<SwarmEvent[]> {
  const args = rest.filter((a): a is string => typeof a === 'string');
  const env = Object.assign({}, ...rest.filter((a) => typeof a !== 'string'));
  const r = await swarm(['run', 'swarm.yaml', '--ui', 'json', ...args], { cwd: repo.dir, env });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SwarmEvent);
}

const firstStarted = (events: SwarmEvent[]) => events.find((e) => e.type === 'task' && e.to === 'starting') as { task: string } | undefined;

describe('swarm report', () => {
  it('accounts for a finished run: wall time against the lower bound, slot waits, agent time, overhead', async () => {
    const repo = repoWith(
      yaml('rep', [
        { id: 'a', sleep: 0.4 },
        { id: 'b', sleep: 0.4, deps: ['a'] },
        { id: 'c', sleep: 0.1 },
      ]),
    );
    await run(repo);

    const r = await swarm(['report', '--json'], { cwd: repo.dir });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const report = JSON.parse(String(r.stdout)) as ReportJson;
    expect(report.run).toMatchObject({ name: 'rep', status: 'finished', concurrency: 1, tasks: 3, merged: 3 });
    const task = (id: string) => report.tasks.find((t) => t.id === id)!;
    for (const [id, s] of [
      ['a', 400],
      ['b', 400],
      ['c', 100],
    ] as const)
      expect(task(id).agentMs).toBeGreaterThanOrEqual(s);
    // One slot: whichever of a and c goes second waited at least as long as the first one's agent.
    expect(Math.max(task('a').slotWaitMs, task('c').slotWaitMs)).toBeGreaterThanOrEqual(100);
    expect(report.lowerBound.criticalPath).toEqual(['a', 'b']);
    expect(report.lowerBound.criticalPathMs).toBe(task('a').workMs + task('b').workMs);
    // Concurrency 1: all the work, one task after another, is the bound; nothing beats it.
    expect(report.lowerBound.ms).toBe(report.lowerBound.workMs);
    expect(report.run.wallMs).toBeGreaterThanOrEqual(report.lowerBound.ms);
    expect(report.lowerBound.ratio).toBeCloseTo(report.run.wallMs / report.lowerBound.ms, 1);
    // swarm's own work is real time (worktrees, commits, merges) and is all accounted for.
    expect(report.totals.overheadMs).toBeGreaterThan(0);
    expect(report.totals.overheadMs).toBe(report.totals.overhead.startMs + report.totals.overhead.afterAgentMs + report.totals.overhead.mergeMs);
    for (const t of report.tasks) {
      expect(t.agentMs + t.overheadMs + t.slotWaitMs + t.mergeWaitMs).toBeLessThanOrEqual(report.run.wallMs);
    }

    const text = await swarm(['report', 'rep'], { cwd: repo.dir });
    expect(String(text.stdout)).toContain('wall time / lower bound');
    expect(String(text.stdout)).toContain('waiting for a slot (ready)');
    const missing = await swarm(['report', 'nope'], { cwd: repo.dir });
    expect(missing.exitCode).toBe(2);
    expect(String(missing.stderr)).toContain('no run named nope');
  });

  it('learnt durations (per task id) feed the next run’s order and the plan’s critical path', async () => {
    // Nothing known at first: equal weights, the smaller id starts first.
    const repo = repoWith(
      yaml('learn', [
        { id: 'x', sleep: 0.05 },
        { id: 'y', sleep: 0.8 },
      ]),
    );
    const before = await swarm(['plan', '--format', 'json'], { cwd: repo.dir });
    expect(JSON.parse(String(before.stdout))).toMatchObject({ weightUnit: 'tasks' });
    expect(firstStarted(await run(repo))?.task).toBe('x');

    const plan = JSON.parse(String((await swarm(['plan', '--format', 'json'], { cwd: repo.dir })).stdout)) as {
      weightUnit: string;
      criticalPath: { tasks: string[]; length: number };
    };
    expect(plan.weightUnit).toBe('ms');
    expect(plan.criticalPath.tasks).toEqual(['y']);
    expect(plan.criticalPath.length).toBeGreaterThanOrEqual(800);

    // The same tasks again: y is known to be the long one, so it takes the one slot first.
    expect(firstStarted(await run(repo, '--fresh'))?.task).toBe('y');
    // FIFO (the benchmarks' hidden switch) ignores what was learnt: first come, by id.
    expect(firstStarted(await run(repo, '--fresh', { SWARM_PRIORITY: 'fifo' }))?.task).toBe('x');
  });
});
