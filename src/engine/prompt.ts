import type { Spec, TaskSpec } from '../config/spec.js';
import type { BranchCommit } from './ports.js';
import { type Peer, peerLines } from './steer-prompt.js';

export interface DependencyResult {
  readonly id: string;
  readonly title: string;
  readonly files: readonly string[];
  /** The agent's final message, when it gave one. */
  readonly summary?: string;
  /** Notes its agent left for the tasks that build on it (`swarm note`). */
  readonly notes?: readonly string[];
}

/** Why this attempt exists, beyond the first. */
export type RetryContext =
  | { readonly kind: 'check-failed'; readonly command: string; readonly output: string }
  | { readonly kind: 'agent-failed'; readonly message: string }
  | { readonly kind: 'audit'; readonly paths: readonly string[] }
  | { readonly kind: 'empty' }
  | { readonly kind: 'conflict'; readonly files: readonly string[]; readonly into: string };

const TAIL_CHARS = 4000;

/** Keeps the end of long output: that is where test runners put the failures. */
export function clipTail(text: string, max = TAIL_CHARS): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= max ? trimmed : `…${trimmed.slice(-max)}`;
}

/**
 * The preamble every agent gets: who it is, what it owns, what it builds on, and (with
 * `peers`, when the run can pass messages) who else is working now and how to reach them.
 */
export function buildPrompt(
  spec: Spec,
  task: TaskSpec,
  deps: readonly DependencyResult[],
  retry?: RetryContext,
  held: readonly BranchCommit[] = [],
  peers?: readonly Peer[],
): string {
  const lines: string[] = [
    `You are the agent for task "${task.id}" (${task.title}) of the swarm run "${spec.name}".`,
    'Other agents are working on other parts of this repository at the same time, each in its own git worktree.',
    '',
    'You own only the files matching these globs (relative to the repository root):',
    ...task.files.map((g) => `  - ${g}`),
    'Do not create, edit or delete any other file: such edits are refused, and a commit touching other files is rejected.',
    'Uncommitted changes are committed for you when you finish.',
  ];
  if (deps.length > 0) {
    lines.push('', 'These tasks finished before you, and their work is already in your worktree:');
    for (const d of deps) {
      lines.push(`  - ${d.id}: ${d.title} (files: ${d.files.join(', ')})`);
      if (d.summary) lines.push(`    result: ${d.summary.replace(/\s+/g, ' ').slice(0, 400)}`);
      for (const note of d.notes ?? []) lines.push(`    note from ${d.id}: ${note.replace(/\s+/g, ' ').slice(0, 1000)}`);
    }
  }
  if (peers !== undefined) lines.push('', ...peerLines(task.id, peers));
  if (held.length > 0) lines.push('', ...heldLines(held));
  lines.push('', '## Your task', '', task.prompt.trimEnd());
  if (retry) lines.push('', ...retryLines(retry));
  return `${lines.join('\n')}\n`;
}

function retryLines(retry: RetryContext): string[] {
  switch (retry.kind) {
    case 'check-failed':
      return [
        '## Your previous attempt did not pass the check',
        '',
        `The check \`${retry.command}\` failed. The end of its output:`,
        '',
        '```',
        clipTail(retry.output),
        '```',
        '',
        'Fix the cause, staying within your files.',
      ];
    case 'agent-failed':
      return ['## Your previous attempt failed', '', clipTail(retry.message, 1500), '', 'Try again.'];
    case 'audit':
      return [
        '## Your previous attempt changed files you do not own',
        '',
        ...retry.paths.map((p) => `  - ${p}`),
        '',
        'Those changes cannot be merged. Undo them and do the work within your files.',
      ];
    case 'empty':
      return [
        '## Your previous attempt changed nothing',
        '',
        'No file of yours differs from where the task started. Make the change the task asks for, within your files.',
      ];
    case 'conflict':
      return [
        '## Resolve a merge conflict',
        '',
        `Your branch was merged with the integration branch ${retry.into}, and these files conflict:`,
        ...retry.files.map((f) => `  - ${f}`),
        '',
        `In each marker block, the side under \`<<<<<<< HEAD\` is your task's work and the side above \`>>>>>>> ${retry.into}\` is what other tasks merged into ${retry.into}.`,
        "Edit them to remove every conflict marker (<<<<<<<, =======, >>>>>>>), keeping both sides' intent. Do not commit; swarm does.",
      ];
  }
}

/** The retry prompt for a resumed claude session: the session already has the task. */
export function buildFollowUp(retry: RetryContext, held: readonly BranchCommit[] = []): string {
  return withHeldCommits(`${retryLines(retry).join('\n')}\n`, held);
}

const HELD_COMMITS = 30;
const HELD_FILES = 12;

/**
 * What the task's branch already holds: an agent that starts on it (a retry, a resumed or
 * re-run task) must build on that work, not do it a second time.
 */
function heldLines(held: readonly BranchCommit[]): string[] {
  const shown = held.slice(-HELD_COMMITS);
  const lines = [
    '## Your branch already holds work',
    '',
    `Your worktree's branch already has ${held.length} commit${held.length === 1 ? '' : 's'} of this task (oldest first). Build on them; do not redo what they did:`,
  ];
  if (shown.length < held.length) lines.push(`  (${held.length - shown.length} older commit(s) not listed)`);
  for (const c of shown) {
    const files = c.files.length <= HELD_FILES ? c.files.join(', ') : `${c.files.slice(0, HELD_FILES).join(', ')} and ${c.files.length - HELD_FILES} more`;
    lines.push(`  - ${c.sha.slice(0, 10)} ${c.subject.replace(/\s+/g, ' ').slice(0, 200)} (files: ${files || 'none'})`);
  }
  return lines;
}

/** A follow-up (resumed session) with the list of what the branch holds appended, when it holds anything. */
export function withHeldCommits(prompt: string, held: readonly BranchCommit[]): string {
  return held.length === 0 ? prompt : `${prompt.trimEnd()}\n\n${heldLines(held).join('\n')}\n`;
}
