import type { Writable } from 'node:stream';
import { deniedText, type SwarmEvent } from '../engine/events.js';
import { ACTIVE_STATES, FAILED_STATES, type TaskState } from '../engine/task-state.js';
import { formatDuration } from '../util/duration.js';
import { unreachable } from '../util/result.js';
import type { Reporter } from './reporter.js';
import { violationText } from './violation-text.js';

export interface PlainOptions {
  readonly out: Writable;
  /** The yaml file, for the resume hint. */
  readonly file: string;
  /** Agent text output lines too (noisy). @default false */
  readonly verbose?: boolean;
}

/**
 * The line reporter for CI and pipes: one line per thing that matters, prefixed with the
 * time since the run started and the task id, so `grep auth` follows one task.
 */
export function createPlainReporter(opts: PlainOptions): Reporter {
  let start = 0;
  let width = 8;
  const failures = new Map<string, string>();
  // A template's tasks, for its one-line counts at the start and the end.
  const groups = new Map<string, Map<string, TaskState>>();
  const stateOf = new Map<string, Map<string, TaskState>>();
  const line = (at: number, who: string, text: string) => {
    opts.out.write(`[${clock(at - start)}] ${who.padEnd(width)} ${text}\n`);
  };
  return {
    handle(e: SwarmEvent) {
      switch (e.type) {
        case 'run':
          if (e.reason === 'started') {
            start = e.at;
            width = Math.min(24, Math.max(8, ...e.tasks.map((t) => t.id.length)));
            const merged = e.tasks.filter((t) => t.state === 'merged').length;
            opts.out.write(
              `swarm: ${e.resumed ? 'resuming' : 'starting'} run ${e.run}: ${e.tasks.length} tasks into ${e.into} from ${fromText(e)}, concurrency ${e.concurrency}${merged ? `, ${merged} already merged` : ''}\n`,
            );
            for (const t of e.tasks) {
              if (t.template === undefined) continue;
              let group = groups.get(t.template);
              if (group === undefined) groups.set(t.template, (group = new Map()));
              group.set(t.id, t.state);
              stateOf.set(t.id, group);
            }
            for (const [template, group] of groups) {
              const matches = e.tasks.filter((t) => t.template === template).map((t) => t.match ?? t.id);
              const shown = matches.slice(0, 3).join(', ') + (matches.length > 3 ? `, ... (${matches.length - 3} more)` : '');
              const done = [...group.values()].filter((s) => s === 'merged').length;
              opts.out.write(`  ${template}: ${group.size} task${group.size === 1 ? '' : 's'} (${shown})${done > 0 ? `, ${done} already merged` : ''}\n`);
            }
          } else if (e.reason === 'stopping') {
            opts.out.write(e.force ? 'swarm: killing agents now\n' : 'swarm: stopping: no new tasks; agents are being stopped (again to kill)\n');
          } else {
            const took = formatDuration(e.durationMs);
            const cost = e.costUsd > 0 ? `, $${e.costUsd.toFixed(2)}` : '';
            opts.out.write(`swarm: ${e.outcome}: ${e.merged}/${e.total} merged in ${took}${cost}\n`);
            for (const [template, group] of groups) opts.out.write(`  ${template}: ${groupCounts(group.values())}\n`);
            for (const [task, why] of [...failures].sort(([a], [b]) => a.localeCompare(b))) {
              opts.out.write(`  ${task}: ${why}\n    see: swarm logs ${task}\n`);
            }
            if (e.outcome !== 'success') opts.out.write(`  resume with: swarm run ${opts.file}\n`);
          }
          return;
        case 'task': {
          const attempt = e.to === 'running' && e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
          line(e.at, e.task, `${e.to}${attempt}${e.detail ? `: ${e.detail}` : ''}`);
          if (e.to === 'failed' || e.to === 'conflicted' || e.to === 'blocked') failures.set(e.task, e.detail ?? e.to);
          if (e.to === 'merged') failures.delete(e.task);
          stateOf.get(e.task)?.set(e.task, e.to);
          return;
        }
        case 'agent':
          switch (e.reason) {
            case 'tool':
              line(e.at, e.task, `  ${e.summary}`);
              return;
            case 'api-retry':
              line(e.at, e.task, `  ${e.error}; the agent retries in ${formatDuration(e.delayMs)}`);
              return;
            case 'denied':
              line(e.at, e.task, `  ${deniedText(e)}`);
              return;
            case 'exited':
              line(
                e.at,
                e.task,
                `  agent ${e.ok ? 'done' : e.stopped ? 'stopped' : 'failed'}${e.turns ? `, ${e.turns} turns` : ''}${e.costUsd ? `, $${e.costUsd.toFixed(2)}` : ''}`,
              );
              return;
            case 'output':
              if (opts.verbose) line(e.at, e.task, `  > ${e.text}`);
              return;
            case 'spawned':
            case 'session':
              return;
            default:
              return unreachable(e);
          }
        case 'check':
          if (e.reason !== 'started') line(e.at, e.task, `  ${e.scope === 'merge' ? 'merge.check' : e.scope} \`${e.command}\` ${e.reason}`);
          return;
        case 'lease':
          if (e.reason === 'violation') line(e.at, e.task, `  ${e.blocked ? 'refused' : 'warning'}: ${violationText(e)}`);
          return;
        case 'merge':
          if (e.reason === 'conflict') line(e.at, e.task, `  merge conflict: ${e.files.join(', ')}`);
          if (e.reason === 'undone') line(e.at, e.task, '  merge.check failed: merge undone');
          if (e.reason === 'merged') line(e.at, e.task, e.empty ? '  merged: no changes' : `  merged as ${e.commit.slice(0, 10)}`);
          return;
        case 'limit':
          opts.out.write(
            e.reason === 'lowered'
              ? `swarm: rate limited: starting at most ${e.concurrency} agents at once (of ${e.max})\n`
              : `swarm: rate limit easing: ${e.concurrency} of ${e.max} agents at once\n`,
          );
          return;
        case 'log':
          opts.out.write(`swarm: ${e.reason === 'warning' ? 'warning: ' : ''}${e.message}\n`);
          return;
        default:
          return unreachable(e);
      }
    },
    close: () => Promise.resolve(),
  };
}

/** `38 merged, 0 running, 2 failed, 0 waiting`: where a template's tasks are. */
export function groupCounts(states: Iterable<TaskState>): string {
  let merged = 0;
  let running = 0;
  let failed = 0;
  let waiting = 0;
  for (const s of states) {
    if (s === 'merged') merged++;
    else if (ACTIVE_STATES.has(s) || s === 'queued' || s === 'merging') running++;
    else if (FAILED_STATES.has(s) || s === 'blocked') failed++;
    else waiting++;
  }
  return `${merged} merged, ${running} running, ${failed} failed, ${waiting} waiting`;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** What the run starts from: the integration branch's head, and the base when the branch already holds work on top of it. */
function fromText(e: { readonly into: string; readonly base: string; readonly head?: string }): string {
  if (e.head === undefined || e.head === e.base) return e.base.slice(0, 10);
  return `${e.head.slice(0, 10)} (${e.into} as it is, already holding work on top of base ${e.base.slice(0, 10)})`;
}
