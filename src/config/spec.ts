/** The validated, defaults-merged form of swarm.yaml that the rest of swarm works from. */

/** A place in a file, 1-based; `endCol` is exclusive. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
}

export type AgentKind = 'claude' | 'codex' | 'command';

/** Agents whose session a retry, or the run after a crash, resumes (claude's `--resume`, codex's `exec resume`); others start over. */
export const RESUMABLE_KINDS: ReadonlySet<AgentKind> = new Set(['claude', 'codex']);
export type PermissionMode = 'default' | 'acceptEdits' | 'bypassPermissions' | 'plan' | 'dontAsk';

export interface AgentSpec {
  readonly kind: AgentKind;
  readonly bin?: string;
  readonly model?: string;
  readonly permissionMode?: PermissionMode;
  readonly maxTurns?: number;
  readonly maxBudgetUsd?: number;
  readonly allowedTools?: readonly string[];
  readonly disallowedTools?: readonly string[];
  readonly args: readonly string[];
  readonly command?: readonly string[];
  readonly isolateConfig: boolean;
  /** `auto`: bubblewrap when it works, else tamper detection; `required`: refuse to run without it; `off`: detection only. */
  readonly sandbox: SandboxMode;
}

export type SandboxMode = 'auto' | 'required' | 'off';

export interface TaskSpec {
  readonly id: string;
  readonly title: string;
  /** The prompt text, read from prompt_file when that was given. */
  readonly prompt: string;
  readonly promptFile?: string;
  readonly files: readonly string[];
  readonly dependsOn: readonly string[];
  readonly setup?: string;
  readonly check?: string;
  readonly retries: number;
  /** A task whose agent changed no file succeeds (true) or fails like a failed check (false). */
  readonly allowEmpty: boolean;
  readonly timeoutMs: number;
  readonly estimateMs?: number;
  readonly env: Readonly<Record<string, string>>;
  readonly agent: AgentSpec;
  /** Set on a task a template made: the template's name and the match (or the batch of matches) it was made for. */
  readonly template?: TaskOrigin;
  /** Where things were written, for diagnostics from later stages (graph, overlap). */
  readonly loc: {
    readonly id?: SourceLoc;
    readonly files?: readonly (SourceLoc | undefined)[];
    readonly dependsOn?: readonly (SourceLoc | undefined)[];
  };
}

export interface TaskOrigin {
  /** The template's name: its id, or its id's text before the first placeholder. */
  readonly id: string;
  /** The match, or the matches of a batch, in order. */
  readonly matches: readonly string[];
}

/** A template as written, and the tasks it made (in match order). */
export interface TemplateSummary {
  readonly id: string;
  readonly source: 'dirs' | 'files' | 'values';
  readonly tasks: readonly string[];
}

export type EnforceMode = 'block' | 'warn' | 'off';
export type MergeStrategy = 'merge' | 'squash' | 'rebase';

export interface Spec {
  /** Absolute path of the yaml file. */
  readonly file: string;
  readonly name: string;
  readonly base: string;
  readonly into: string;
  readonly concurrency: number;
  readonly worktrees: string;
  readonly setup?: string;
  readonly check?: string;
  readonly budgetUsd?: number;
  /** The git remote of `push:` (true there: origin); undefined: nothing is fetched or pushed. */
  readonly push?: string;
  /**
   * `limits.max_wait`: how long to wait for a usage-limit reset before stopping the run
   * (resumable, exit 75). 0 by default: a CI job would rather end and be re-run after the
   * reset than hold a runner for hours; set it to wait, e.g. `5h` for a five-hour window.
   */
  readonly limits?: {
    readonly maxWaitMs: number;
    /** `limits.shard_wait`: with --shard, how long to wait on another shard's task with no progress on the remote. */
    readonly shardWaitMs?: number;
  };
  readonly lease: { readonly ttlMs: number; readonly enforce: EnforceMode };
  readonly merge: { readonly strategy: MergeStrategy; readonly check?: string; readonly onConflict: 'agent' | 'fail' };
  readonly tasks: readonly TaskSpec[];
  /** The file's templates (`for_each`), each with the tasks it expanded to; empty when it has none. */
  readonly templates?: readonly TemplateSummary[];
  /** The commit the templates were expanded against (`base`, resolved); undefined when the file has none. */
  readonly expandedAt?: string;
}

export const DEFAULTS = {
  base: 'HEAD',
  concurrency: 4,
  worktrees: '.swarm/worktrees',
  retries: 1,
  timeoutMs: 30 * 60_000,
  leaseTtlMs: 10 * 60_000,
  maxWaitMs: 0,
  shardWaitMs: 60 * 60_000,
  enforce: 'block' as EnforceMode,
  strategy: 'merge' as MergeStrategy,
  onConflict: 'agent' as const,
  agentKind: 'claude' as AgentKind,
  sandbox: 'auto' as SandboxMode,
} as const;
