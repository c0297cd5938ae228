import type { Writable } from 'node:stream';
import type { SourceLoc } from '../config/spec.js';
import { deniedText, messageText, type SwarmEvent } from '../engine/events.js';
import { TERMINAL_STATES } from '../engine/task-state.js';
import { clockTime } from '../engine/usage-limit.js';
import { formatDuration } from '../util/duration.js';
import { unreachable } from '../util/result.js';
import { defuse } from './github.js';
import { GitHubFolds } from './plain-github.js';
import type { Reporter } from './reporter.js';
import { violationText } from './violation-text.js';

export interface PlainOptions {
  readonly out: Writable;
  /** The yaml file, for the resume hint. */
  readonly file: string;
  /** Agent text output lines too (noisy). @default false */
  readonly verbose?: boolean;
  /**
   * Inside GitHub Actions: each task's lines are folded into a `::group::` printed when the
   * task ends (its state changes still print as they happen), and failures become
   * `::error` annotations on the task's place in the file.
   */
  readonly github?: { readonly taskLoc: (task: string) => SourceLoc | undefined };
}

/**
 * The line reporter for CI and pipes: one line per thing that matters, prefixed with the
 * time since the run started and the task id, so `grep auth` follows one task.
 */
export function createPlainReporter(opts: PlainOptions): Reporter {
  let start = 0;
  let width = 8;
  const failures = new Map<string, string>();
  const folds = opts.github ? new GitHubFolds(opts.out, opts.github.taskLoc) : undefined;
  // In GitHub Actions a line that starts with `::` is a command to the runner: what agents
  // say is split into lines that each carry the prefix, and the rest is defused.
  const lines = (at: number, who: string, text: string) => {
    const prefix = `[${clock(at - start)}] ${who.padEnd(width)} `;
    return folds
      ? text
          .split(NEWLINE)
          .map((l) => `${prefix}${l}\n`)
          .join('')
      : `${prefix}${text}\n`;
  };
  const line = (at: number, who: string, text: string) => {
    if (folds) folds.add(who, lines(at, who, text));
    else opts.out.write(lines(at, who, text));
  };
  const write = (text: string) => opts.out.write(folds ? defuse(text) : text);
  return {
    handle(e: SwarmEvent) {
      switch (e.type) {
        case 'run':
          if (e.reason === 'started') {
            start = e.at;
            width = Math.min(24, Math.max(8, ...e.tasks.map((t) => t.id.length)));
            const merged = e.tasks.filter((t) => t.state === 'merged').length;
            write(
              `swarm: ${e.resumed ? 'resuming' : 'starting'} run ${e.run}: ${e.tasks.length} tasks into ${e.into} from ${fromText(e)}, concurrency ${e.concurrency}${merged ? `, ${merged} already merged` : ''}\n`,
            );
          } else if (e.reason === 'stopping') {
            write(e.force ? 'swarm: killing agents now\n' : 'swarm: stopping: no new tasks; agents are being stopped (again to kill)\n');
          } else {
            folds?.flushAll();
            const took = formatDuration(e.durationMs);
            const cost = e.costUsd > 0 ? `, $${e.costUsd.toFixed(2)}` : '';
            write(`swarm: ${e.outcome}: ${e.merged}/${e.total} merged in ${took}${cost}\n`);
            for (const [task, why] of [...failures].sort(([a], [b]) => a.localeCompare(b))) {
              write(`  ${task}: ${why}\n    see: swarm logs ${task}\n`);
            }
            if (e.outcome !== 'success') write(`  resume with: swarm run ${opts.file}\n`);
          }
          return;
        case 'task': {
          const attempt = e.to === 'running' && e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
          const text = `${e.to}${attempt}${e.detail ? `: ${e.detail}` : ''}`;
          line(e.at, e.task, text);
          // Folded, a task's state changes still print as they happen; its end is its group's title.
          if (folds && !TERMINAL_STATES.has(e.to)) opts.out.write(lines(e.at, e.task, text));
          if (e.to === 'failed' || e.to === 'conflicted' || e.to === 'blocked') failures.set(e.task, e.detail ?? e.to);
          if (e.to === 'merged') failures.delete(e.task);
          if (folds && TERMINAL_STATES.has(e.to)) folds.end(e.task, e.to, e.detail);
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
              // Folded away in GitHub Actions, the agent's own words cost nothing to keep.
              if (folds) for (const said of e.text.split(NEWLINE)) line(e.at, e.task, `  > ${said}`);
              else if (opts.verbose) line(e.at, e.task, `  > ${e.text}`);
              folds?.output(e.task, e.text);
              return;
            case 'spawned':
            case 'session':
              return;
            default:
              return unreachable(e);
          }
        case 'check':
          if (e.reason === 'failed') folds?.checkFailed(e.task, e.command, e.tail);
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
          write(
            e.reason === 'lowered'
              ? `swarm: rate limited: starting at most ${e.concurrency} agents at once (of ${e.max})\n`
              : `swarm: rate limit easing: ${e.concurrency} of ${e.max} agents at once\n`,
          );
          return;
        case 'usage':
          if (e.reason === 'waiting') {
            line(
              e.at,
              e.task,
              `  usage limit reached; it resets at ${clockTime(e.resetsAt, e.at)}: waiting ${formatDuration(e.resumeAt - e.at)} (limits.max_wait), no new task starts`,
            );
          } else if (e.reason === 'stopped') line(e.at, e.task, `  ${e.message}`);
          else write('swarm: the usage limit has reset: going on\n');
          return;
        case 'log':
          write(`swarm: ${e.reason === 'warning' ? 'warning: ' : ''}${e.message}\n`);
          return;
        case 'message':
          line(e.at, e.task, `  ${messageText(e)}`);
          return;
        case 'control':
          line(e.at, e.task, `  swarm ${e.reason} (by ${e.by}): ${e.detail}`);
          return;
        default:
          return unreachable(e);
      }
    },
    close: () => Promise.resolve(),
  };
}

const NEWLINE = /\r\n|\r|\n/;

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
