import type { Writable } from 'node:stream';
import type { SourceLoc } from '../config/spec.js';
import type { TaskState } from '../engine/task-state.js';
import { annotation, GROUP_END, groupStart, locProps } from './github.js';

/** Lines of a check's output an annotation carries: enough to see the error, few enough to read in a pull request. */
const TAIL_LINES = 15;

/**
 * The plain reporter's GitHub Actions folds. Tasks run side by side and a fold cannot
 * interleave with another, so a task's lines are held until it ends and then printed as
 * one `::group::` titled with how it ended. A failed or conflicted task also becomes an
 * `::error` annotation on its `id:` in the swarm file (a blocked one, a warning), which
 * GitHub shows on the run's page and beside the file.
 */
export class GitHubFolds {
  readonly #held = new Map<string, string[]>();
  readonly #lastCheck = new Map<string, { command: string; tail: string }>();
  readonly #ended = new Set<string>();
  readonly #said = new Map<string, string[]>();

  constructor(
    readonly out: Writable,
    readonly taskLoc: (task: string) => SourceLoc | undefined,
  ) {}

  add(task: string, line: string): void {
    // A line after the task's fold (an agent reporting its stop late) goes out as it is.
    if (this.#ended.has(task)) return void this.out.write(line);
    const held = this.#held.get(task);
    if (held) held.push(line);
    else this.#held.set(task, [line]);
  }

  checkFailed(task: string, command: string, tail: string): void {
    this.#lastCheck.set(task, { command, tail });
  }

  /** A line the agent said: the last few go into the annotation of an agent that failed. */
  output(task: string, text: string): void {
    const said = this.#said.get(task) ?? [];
    said.push(...text.split('\n'));
    this.#said.set(task, said.slice(-TAIL_LINES));
    this.#lastCheck.delete(task);
  }

  end(task: string, state: TaskState, detail: string | undefined): void {
    this.#ended.add(task);
    this.#fold(task, `${task}: ${detail?.startsWith(state) ? detail : `${state}${detail ? `: ${detail}` : ''}`}`);
    if (state !== 'failed' && state !== 'conflicted' && state !== 'blocked') return;
    // What the failure printed last: the check's output when a check failed last, else the agent's.
    const check = this.#lastCheck.get(task);
    const tail =
      state !== 'failed' ? '' : check ? `\`${check.command}\` ended with:\n${lastLines(check.tail, TAIL_LINES)}` : (this.#said.get(task) ?? []).join('\n');
    const loc = this.taskLoc(task);
    this.out.write(
      `${annotation({
        level: state === 'blocked' ? 'warning' : 'error',
        title: `swarm: task ${task} ${state}`,
        message: `${detail ?? state}${tail.trim() ? `\n${tail.trimEnd()}` : ''}\nsee: swarm logs ${task}`,
        ...(loc ? locProps(loc) : {}),
      })}\n`,
    );
  }

  /** At the run's end: whatever a task printed without ending (a stop), in its fold. */
  flushAll(): void {
    for (const task of [...this.#held.keys()].sort()) this.#fold(task, `${task}: not finished`);
  }

  #fold(task: string, title: string): void {
    const held = this.#held.get(task) ?? [];
    this.#held.delete(task);
    this.out.write(`${groupStart(title)}\n${held.join('')}${GROUP_END}\n`);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
