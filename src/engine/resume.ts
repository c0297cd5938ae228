import { createHash } from 'node:crypto';
import type { Spec, TaskSpec } from '../config/spec.js';
import type { GraphView, TaskRecord } from './ports.js';
import type { TaskState } from './task-state.js';

/** A task's definition: what, if changed since it ran, makes it run again. */
export function taskHash(spec: Spec, task: TaskSpec): string {
  const def = {
    prompt: task.prompt,
    files: task.files,
    dependsOn: [...task.dependsOn].sort(),
    // How the agent is confined does not change what it is asked to do: a run resumed with
    // another sandbox setting keeps its work (and hashes stay what they were before the key).
    agent: { ...task.agent, sandbox: undefined },
    setup: task.setup ?? spec.setup ?? null,
    check: task.check ?? spec.check ?? null,
    env: Object.entries(task.env).sort(([a], [b]) => a.localeCompare(b)),
  };
  return createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 16);
}

/**
 * States in which an agent (or its check) was at work when the runner stopped without
 * saying so: what the agent wrote may be uncommitted in the worktree. (`starting` is not
 * one: no agent has run in that attempt yet, and what `setup` made is not the task's work.)
 */
export const INTERRUPTED_STATES: ReadonlySet<TaskState> = new Set(['running', 'checking', 'resolving']);

/**
 * States of a task that had passed its check and audit: its branch is ready to merge. A
 * task left in one of these by a crash goes straight to the merge queue on resume, without
 * its agent running again (the work was judged good; running the agent again costs money
 * and may undo it).
 */
export const MERGE_READY_STATES: ReadonlySet<TaskState> = new Set(['queued', 'merging']);

export interface ResumePlan {
  /** Tasks whose work is on the integration branch and whose definition did not change. */
  readonly keepMerged: ReadonlySet<string>;
  /**
   * Tasks the store did not record as merged, but whose work is on the integration branch:
   * the runner died between the merge commit and writing it down. Recorded merged, never
   * merged twice. A subset of `keepMerged`.
   */
  readonly recoveredMerges: readonly string[];
  /** Tasks that passed their check before the runner stopped: they go straight to the merge queue. */
  readonly mergeReady: ReadonlySet<string>;
  /** Tasks whose agent or check was cut off by a crash: their next attempt continues the work. */
  readonly interrupted: ReadonlySet<string>;
  /** Tasks whose definition changed since they ran. */
  readonly changed: readonly string[];
  /** Tasks that run again because something upstream changed. */
  readonly downstreamOfChange: readonly string[];
  /** Merged tasks whose work is no longer in the integration branch (history rewritten by someone). */
  readonly lostMerges: readonly string[];
}

/**
 * Decides, for a run that exists already, what stays and what runs again. Pure: the
 * caller asks git which tasks' work is on the integration branch (`inIntegration`).
 *
 * - merged, on the integration branch, definition unchanged: stays merged;
 * - not recorded merged but on the integration branch (a crash right after the merge
 *   commit): recorded merged — `inIntegration` must only hold such a task when its branch
 *   has commits of its own, since an empty branch is trivially an ancestor;
 * - definition changed: runs again, with everything downstream of it;
 * - queued or merging (check passed): straight to the merge queue;
 * - anything else (failed, cancelled, interrupted, never started): runs again on its branch.
 */
export function planResume(
  graph: GraphView,
  hashes: ReadonlyMap<string, string>,
  previous: ReadonlyMap<string, TaskRecord>,
  inIntegration: ReadonlySet<string>,
): ResumePlan {
  const changed = graph.ids.filter((id) => {
    const prev = previous.get(id);
    return prev !== undefined && prev.attempts > 0 && prev.hash !== hashes.get(id);
  });
  const dirty = new Set<string>(changed);
  for (const id of changed) for (const d of graph.descendants(id)) dirty.add(d);
  const keepMerged = new Set<string>();
  const recoveredMerges: string[] = [];
  const mergeReady = new Set<string>();
  const interrupted = new Set<string>();
  const lostMerges: string[] = [];
  for (const id of graph.ids) {
    const prev = previous.get(id);
    if (prev === undefined) continue;
    if (prev.state === 'merged') {
      if (!inIntegration.has(id)) lostMerges.push(id);
      else if (!dirty.has(id)) keepMerged.add(id);
      continue;
    }
    if (dirty.has(id)) continue;
    if (inIntegration.has(id)) {
      keepMerged.add(id);
      recoveredMerges.push(id);
    } else if (MERGE_READY_STATES.has(prev.state)) {
      mergeReady.add(id);
    } else if (INTERRUPTED_STATES.has(prev.state)) {
      interrupted.add(id);
    }
  }
  const downstreamOfChange = [...dirty].filter((id) => !changed.includes(id)).sort();
  return { keepMerged, recoveredMerges, mergeReady, interrupted, changed, downstreamOfChange, lostMerges };
}

/** The first prompt after a crash for a claude session that is resumed: the session already has the task. */
export function interruptedFollowUp(): string {
  return [
    '## You were interrupted',
    '',
    'The swarm runner stopped while you were working (a crash or a kill), and has started again.',
    'Whatever you had written is committed on your branch. Look at the current state of your files,',
    'then continue the task where you left off, staying within your files.',
    '',
  ].join('\n');
}
