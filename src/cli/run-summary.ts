/**
 * The run summary from state.db (see src/report/summary-model.ts), and what `swarm run`
 * leaves for GitHub Actions when it ends: the job summary and the step outputs.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../engine/ports.js';
import { appendOutputs, summaryRoom } from '../report/github.js';
import { renderMarkdown } from '../report/markdown.js';
import { failedTasks, type RunSummary, type SummaryOutcome, segmentsFrom } from '../report/summary-model.js';
import type { SqliteStore } from '../store/index.js';
import { collectReport } from './commands/report.js';
import { collectStatus } from './commands/status.js';
import { renderLogLine } from './log-render.js';

/** Lines of a failed task's log the summary shows. */
const TAIL_LINES = 40;
/** Bytes read from the end of a log for them: a transcript can be large, its end is what matters. */
const TAIL_BYTES = 64 * 1024;

export function collectSummary(store: SqliteStore, run: RunRecord, stateDir: string, now = Date.now()): RunSummary | undefined {
  const report = collectReport(store, run);
  const start = store.lastEvent(run.name, 'run', 'started');
  if (report === undefined || start === undefined || start.event.type !== 'run' || start.event.reason !== 'started') return undefined;
  const started = start.event;
  const events = [started, ...store.events(run.name, { afterId: start.id }).map((e) => e.event)];
  const finished = events.findLast((e) => e.type === 'run' && e.reason === 'finished');
  const status = collectStatus(store, run, now);
  const live = status.run.status === 'running';
  const endedAt = finished?.at ?? (live ? now : (events[events.length - 1]?.at ?? started.at));
  const outcome: SummaryOutcome =
    finished?.type === 'run' && finished.reason === 'finished' ? finished.outcome : status.run.status === 'running' ? 'running' : 'interrupted';
  const segments = segmentsFrom(events, endedAt);
  const onPath = new Set(report.lowerBound.criticalPath);
  const infos = new Map(started.tasks.map((t) => [t.id, t]));
  const tasks = status.tasks.map((t) => {
    const failed = t.state === 'failed' || t.state === 'conflicted';
    const logFile = t.history[t.history.length - 1]?.logFile ?? join(stateDir, 'logs', run.name, `${t.id}.${t.attempts}.jsonl`);
    const tail = failed && t.attempts > 0 ? logTail(logFile, t.worktree ?? '') : undefined;
    return {
      id: t.id,
      ...(t.title !== undefined && t.title !== t.id ? { title: t.title } : {}),
      state: t.state,
      attempts: t.attempts,
      ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}),
      costUsd: t.costUsd,
      ...(t.detail !== undefined ? { detail: t.detail } : {}),
      dependsOn: t.dependsOn.length > 0 ? t.dependsOn : [...(infos.get(t.id)?.dependsOn ?? [])].sort(),
      critical: onPath.has(t.id),
      segments: segments.get(t.id) ?? [],
      ...(tail !== undefined && tail.length > 0 ? { tail } : {}),
    };
  });
  return {
    run: {
      name: run.name,
      into: run.into,
      base: run.baseSha,
      outcome,
      startedAt: started.at,
      endedAt,
      concurrency: started.concurrency,
      costUsd: run.costUsd,
      resumed: started.resumed,
    },
    lowerBound: { ms: report.lowerBound.ms, ratio: report.lowerBound.ratio },
    criticalPath: report.lowerBound.criticalPath,
    tasks,
  };
}

/** The last lines of a log as `swarm logs` renders them; none when it cannot be read. */
export function logTail(file: string, worktree: string): string[] {
  if (!existsSync(file)) return [];
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const from = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
      // Cut into the middle of a line: drop that partial first line.
      if (from > 0) text = text.slice(text.indexOf('\n') + 1);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
  return text
    .split('\n')
    .flatMap((line) => renderLogLine(line, worktree))
    .slice(-TAIL_LINES);
}

/**
 * At the end of `swarm run` inside GitHub Actions: the summary appended to
 * `$GITHUB_STEP_SUMMARY` (within the room the step has left) and `into`, `outcome`,
 * `merged`, `failed` appended to `$GITHUB_OUTPUT`, for an invocation that started at `since`
 * or later. Returns what went wrong, if anything,
 * for a warning: a summary that cannot be written must not fail the run.
 */
export function writeGithubRunEnd(
  store: SqliteStore,
  runName: string,
  stateDir: string,
  since: number,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const run = store.getRun(runName);
  const summary = run === undefined ? undefined : collectSummary(store, run, stateDir);
  // A run refused before it started (exit 2) leaves no summary: not an older invocation's.
  if (summary === undefined || summary.run.startedAt < since) return undefined;
  const problems: string[] = [];
  if (env.GITHUB_STEP_SUMMARY) {
    try {
      appendFileSync(env.GITHUB_STEP_SUMMARY, renderMarkdown(summary, { maxBytes: summaryRoom(env.GITHUB_STEP_SUMMARY) }));
    } catch (error) {
      problems.push(`the job summary could not be written to ${env.GITHUB_STEP_SUMMARY}: ${(error as Error).message}`);
    }
  }
  if (env.GITHUB_OUTPUT) {
    try {
      appendOutputs(env.GITHUB_OUTPUT, githubOutputs(summary));
    } catch (error) {
      problems.push(`the step outputs could not be written to ${env.GITHUB_OUTPUT}: ${(error as Error).message}`);
    }
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** The step outputs: the branch, how the run ended, and the merged and the failed task ids, one a line. */
export function githubOutputs(s: RunSummary): Record<string, string> {
  return {
    into: s.run.into,
    outcome: s.run.outcome,
    merged: s.tasks
      .filter((t) => t.state === 'merged')
      .map((t) => t.id)
      .join('\n'),
    failed: failedTasks(s)
      .map((t) => t.id)
      .join('\n'),
  };
}
