import type { Spec } from '../config/spec.js';
import type { GitPort, ShellPort } from './ports.js';
import type { Result } from '../util/result.js';
import { baseTrailers } from './record.js';

export type BaseMerge =
  /** The base is in the integration branch already. */
  | { readonly kind: 'in' }
  | { readonly kind: 'merged'; readonly head: string }
  | { readonly kind: 'moved'; readonly actual: string }
  | { readonly kind: 'failed'; readonly message: string }
  /** With --shard: the remote refused the push (another shard pushed first); look again. */
  | { readonly kind: 'raced'; readonly detail: string };

export interface BaseMergeDeps {
  readonly spec: Spec;
  readonly git: GitPort;
  readonly shell: ShellPort;
  readonly env: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly log: (message: string) => void;
  /** With --shard: pushes the checked merge before it lands here; the refusal's text. */
  readonly push?: (commit: string, expected: string) => Promise<Result<void, string>>;
}

/**
 * A `base` that moved since the integration branch was made (a fix committed to main,
 * then the run again) is merged in before any task starts, like a task's work: prepared in
 * the merge worktree, through merge.check, landed by compare-and-swap from `head`, with
 * the run record's `Swarm-Base` trailer. Always a merge commit, whatever the strategy:
 * the base's own history is not the run's to squash or rewrite.
 */
export async function mergeMovedBase(d: BaseMergeDeps, baseSha: string, head: string): Promise<BaseMerge> {
  const { spec, git } = d;
  if (!git.contains || (await git.contains(baseSha, head))) return { kind: 'in' };
  const what = `the base ${spec.base} (${baseSha.slice(0, 12)})`;
  d.log(`${what} is not in ${spec.into} yet (it moved since the run began): merging it in first`);
  const prepared = await git.prepareMerge({
    run: spec.name,
    into: spec.into,
    sha: baseSha,
    expected: head,
    strategy: 'merge',
    message: `swarm: merge base ${spec.base} (${baseSha.slice(0, 12)}) into ${spec.into}`,
    trailers: baseTrailers(spec.name, baseSha),
  });
  if (prepared.kind === 'moved') return prepared;
  if (prepared.kind === 'conflict') {
    return {
      kind: 'failed',
      message:
        `${what} conflicts with ${spec.into} in ${prepared.files.join(', ')}; nothing was merged and no task ran. ` +
        `Merge it into ${spec.into} yourself (resolve those files and commit there, then run again with --accept-branch), or set base to a commit ${spec.into} already holds`,
    };
  }
  if (spec.merge.check) {
    const timeoutMs = Math.max(...spec.tasks.map((t) => t.timeoutMs));
    const res = await d.shell.run({
      command: spec.merge.check,
      cwd: prepared.cwd,
      env: { NO_COLOR: '1', ...d.env, SWARM_RUN: spec.name },
      timeoutMs,
      signal: d.signal,
    });
    if (res.exitCode !== 0) {
      await git.abandonMerge(spec.name, spec.into);
      const tail = res.output.trim().split('\n').slice(-5).join('\n');
      return {
        kind: 'failed',
        message: `merge.check \`${spec.merge.check}\` failed on the merge of ${what} (exit ${res.exitCode ?? res.signal}); ${spec.into} did not move and no task ran${tail ? `:\n${tail}` : ''}`,
      };
    }
  }
  if (d.push) {
    const pushed = await d.push(prepared.commit, head);
    if (!pushed.ok) {
      await git.abandonMerge(spec.name, spec.into);
      return { kind: 'raced', detail: pushed.error };
    }
  }
  if (!(await git.landMerge({ run: spec.name, into: spec.into, commit: prepared.commit, expected: head, task: 'base' }))) {
    return { kind: 'moved', actual: await git.integrationHead(spec.into) };
  }
  d.log(`merged ${what} into ${spec.into} (${prepared.commit.slice(0, 12)}); tasks start from there`);
  return { kind: 'merged', head: prepared.commit };
}
