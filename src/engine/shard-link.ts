import type { Result } from '../util/result.js';
import { type RecordedMerge, recordedMerges } from './record.js';
import { taskHash } from './resume.js';
import type { RunContext } from './run-context.js';
import { FAILED_STATES } from './task-state.js';

/** How far past its shard's last heartbeat a failed record's date may be and still be that job's (a heartbeat is every 30 s). */
const RECORD_SLACK_MS = 60_000;

/** Who runs a shard, for its claim on the remote. */
export interface ShardClaim {
  readonly host: string;
  readonly pid: number;
  readonly pidStart?: string;
  /** When this job started (ms). */
  readonly startedAt?: number;
  /** Whether a process on this host is still the one recorded. */
  alive(pid: number, start?: string): boolean;
}

/** A task another shard recorded failed on the remote (`refs/swarm/<run>/failed/<task>`). */
export interface FailedRecord {
  readonly hash: string;
  readonly state: string;
  readonly detail: string;
  /** When it was written (ms). */
  readonly at?: number;
}

/** What another shard's claim says of the job that holds it (shard-remote.ts). */
export interface ClaimView {
  readonly state: string;
  /** Its last heartbeat (ms, that shard's clock). */
  readonly heartbeat?: number;
  /** When that job started (ms). */
  readonly started?: number;
}

/** The git a shard needs (src/git/shard-remote.ts). */
export interface ShardRemotePort {
  readonly remote: string;
  /** "K/N". */
  readonly label: string;
  /** Fetches the remote's integration branch and the run's refs; its head (undefined: not there yet). */
  fetchHead(): Promise<Result<string | undefined, string>>;
  /** Pushes the integration branch from `expected` (undefined: absent) to `sha`, as a compare-and-swap; the refusal's text. */
  pushHead(sha: string, expected: string | undefined): Promise<Result<void, string>>;
  /** Failure records as last fetched (no network). */
  failedRecords?(): Promise<ReadonlyMap<string, FailedRecord>>;
  /** Every shard's claim as last fetched (no network), by label "K/N". */
  claims?(): Promise<ReadonlyMap<string, ClaimView>>;
}

export interface ShardOptions {
  readonly port: ShardRemotePort;
  /** The first wait between looks at the remote while a task waits on another shard; it doubles up to `maxPollMs`. @default 2s */
  readonly pollMs?: number;
  /** @default 30s */
  readonly maxPollMs?: number;
  /** Told when the integration branch moved to the remote's head (the publisher's expected value). */
  readonly onHead?: (head: string) => void;
  /** The label ("K/N") of the shard a task belongs to: whose job a failed record must come from. */
  readonly shardOf?: (task: string) => string;
  /**
   * A failed record older than this job is honoured only after this long (the shard that
   * wrote it may be starting again, as CI's "re-run failed jobs" starts them together). @default 30s
   */
  readonly graceMs?: number;
}

/** What a look at the remote found. */
export type SyncResult =
  | { readonly kind: 'same' }
  | { readonly kind: 'moved'; readonly head: string }
  /** The remote could not be read now: try again later. */
  | { readonly kind: 'unreachable'; readonly message: string }
  /** The local integration branch holds commits the remote does not: the run cannot go on. */
  | { readonly kind: 'diverged'; readonly message: string };

/**
 * `--shard K/N`: this runner runs one shard of the file; the other shards run the rest on
 * other machines, and they meet only at the remote's integration branch. Two duties:
 *
 * - Before every merge, the integration branch is brought to the remote's head (fetched;
 *   the local branch only ever trails the remote, so this is a fast-forward), the record
 *   there is read (a task merged already is never merged twice), and the merge, once
 *   checked, is pushed as a compare-and-swap from that head before it lands here. Refused
 *   (another shard pushed first): fetch and merge again, with jittered backoff.
 * - A task whose dependency belongs to another shard waits, holding no slot, until that
 *   dependency's merge is on the remote (polled with backoff): the integration branch
 *   fast-forwards and the dependency counts as merged. A dependency recorded failed on the
 *   remote counts as failed, so its dependents are blocked. With nothing else to do and no
 *   progress on the remote for `limits.shard_wait`, the shard stops waiting and says why.
 */
export class ShardLink {
  readonly #ctx: RunContext;
  readonly #o: ShardOptions;
  /** Tasks of other shards that tasks of this one depend on (directly or not). */
  readonly foreign: ReadonlySet<string>;
  #delay: number;
  #nextPoll = 0;
  #polling = false;
  /** The last time the remote showed progress, or this shard had something else to do. */
  #quietSince: number;
  /** When this job first saw each failed record it did not honour at once (by task and date). */
  readonly #firstSeen = new Map<string, number>();
  /** The remote's integration head as last fetched or pushed (undefined: not there yet): every push's expected value. */
  #remoteHead: string | undefined;

  constructor(ctx: RunContext, o: ShardOptions) {
    this.#ctx = ctx;
    this.#o = o;
    this.#delay = o.pollMs ?? 2000;
    this.#quietSince = ctx.now();
    const foreign = new Set<string>();
    const seen = new Set<string>();
    const stack = [...ctx.selected];
    while (stack.length > 0) {
      for (const d of ctx.o.graph.dependencies(stack.pop()!)) {
        if (seen.has(d)) continue;
        seen.add(d);
        stack.push(d);
        if (!ctx.selected.has(d)) foreign.add(d);
      }
    }
    this.foreign = foreign;
  }

  get remote(): string {
    return this.#o.port.remote;
  }

  get label(): string {
    return this.#o.port.label;
  }

  /**
   * Brings the local integration branch to the remote's head. Call only where nothing else
   * moves it (inside the merge queue, or before the run's tasks start).
   */
  async syncHead(): Promise<SyncResult> {
    const ctx = this.#ctx;
    const { git, store } = ctx.o;
    const fetched = await this.#o.port.fetchHead();
    if (!fetched.ok) return { kind: 'unreachable', message: fetched.error };
    const theirs = fetched.value;
    this.#remoteHead = theirs;
    if (theirs !== undefined) this.#o.onHead?.(theirs);
    if (theirs === undefined || theirs === ctx.head) return { kind: 'same' };
    if (git.contains && (await git.contains(theirs, ctx.head))) return { kind: 'same' };
    if (!git.contains || !(await git.contains(ctx.head, theirs))) {
      return {
        kind: 'diverged',
        message:
          `--shard: ${ctx.spec.into} here (${ctx.head.slice(0, 12)}) and on ${this.#o.port.remote} (${theirs.slice(0, 12)}) have diverged: ` +
          `a shard only ever adds to the remote's branch. Nothing more is merged; look at both (\`git fetch ${this.#o.port.remote}\`), then run again`,
      };
    }
    const foreign = await this.#notLanded(theirs);
    if (foreign !== undefined) return { kind: 'diverged', message: foreign };
    const advanced = git.advanceIntegration ? await git.advanceIntegration({ run: ctx.name, into: ctx.spec.into, to: theirs, expected: ctx.head }) : false;
    if (!advanced) {
      return { kind: 'diverged', message: `--shard: ${ctx.spec.into} moved here while swarm fast-forwarded it to ${this.#o.port.remote}'s head` };
    }
    ctx.head = theirs;
    // Before the run is saved (a moved base merged at the start), Engine.run records the head itself.
    if (store.getRun(ctx.name) !== undefined) store.setIntegrationHead(ctx.name, theirs);
    return { kind: 'moved', head: theirs };
  }

  /**
   * What the remote gained must be other shards' landings: each first-parent commit a
   * landing of a task of this file, with its shard named, or a moved base merged in. A
   * commit pushed there by anyone else (an agent with the job's push credentials, a person)
   * is not taken: the message, or undefined when all is well.
   */
  async #notLanded(theirs: string): Promise<string | undefined> {
    const ctx = this.#ctx;
    const landings = (await ctx.o.git.landingsBetween?.(ctx.head, theirs, ctx.name)) ?? [];
    const landed = (entry: (typeof landings)[number]['entry']) =>
      entry?.base !== undefined || (entry?.task !== undefined && ctx.tasks.has(entry.task) && entry.shard !== undefined);
    // A rebase lands the task's commits as they are, the record on the last of them only.
    const rebase = ctx.spec.merge.strategy === 'rebase';
    const okAt = (i: number) =>
      landed(landings[i]!.entry) || (rebase && landings[i]!.entry === undefined && landings.slice(i + 1).some((l) => landed(l.entry)));
    // The first job of a run checked out at a later commit of main: the commits the remote's
    // branch starts with are main's, before any landing. Taken only while this branch holds
    // no landing of its own (it is then no more than where this job began).
    const first = landings.findIndex((l) => landed(l.entry));
    const lead = first === -1 ? landings.length : first;
    let from = 0;
    if (lead > 0 && landings.slice(0, lead).every((l) => l.entry === undefined) && !landings.slice(0, lead).every((_, i) => okAt(i)) && (await this.#bare())) {
      from = lead;
    }
    const bad = landings.find((_, i) => i >= from && !okAt(i));
    if (bad === undefined) return undefined;
    return (
      `--shard: ${ctx.spec.into} on ${this.#o.port.remote} holds ${bad.sha.slice(0, 12)}, which no shard of the run "${ctx.name}" landed (it carries no record of a task of this file); ` +
      `swarm does not take it or build on it, and this shard stops. Look at it (\`git fetch ${this.#o.port.remote} && git log ${this.#o.port.remote}/${ctx.spec.into}\`), then run again`
    );
  }

  /** The local integration branch holds no landing of this run (nothing but where the job began). */
  async #bare(): Promise<boolean> {
    const ctx = this.#ctx;
    return ctx.o.git.readRecord ? (await ctx.o.git.readRecord(ctx.spec.into, ctx.name).catch(() => [])).length === 0 : false;
  }

  /**
   * Pushes a checked merge before it lands here, over what `syncHead` last saw on the remote
   * (which the merge's base contains); the refusal's text when another shard pushed first.
   */
  async push(commit: string): Promise<Result<void, string>> {
    const pushed = await this.#o.port.pushHead(commit, this.#remoteHead);
    if (pushed.ok) {
      this.#remoteHead = commit;
      this.#o.onHead?.(commit);
    }
    return pushed;
  }

  /** The landing on the (just synced) integration branch of `id` with its current definition, if another runner landed it. */
  async landedAlready(id: string): Promise<string | undefined> {
    const ctx = this.#ctx;
    if (!ctx.o.git.readRecord) return undefined;
    const record = recordedMerges(await ctx.o.git.readRecord(ctx.spec.into, ctx.name).catch(() => []), ctx.name);
    const r = record.get(id);
    return r !== undefined && (await this.#stands(id, r, record)) ? r.landed : undefined;
  }

  /**
   * Whether a recorded landing is the task's current one: made with its definition, and on
   * top of each dependency's current landing (a dependency redefined and landed again since
   * makes the dependent's old landing stale, though its own definition did not change).
   */
  async #stands(id: string, landing: RecordedMerge, record: ReadonlyMap<string, RecordedMerge>): Promise<boolean> {
    const ctx = this.#ctx;
    if (landing.hash !== taskHash(ctx.spec, ctx.tasks.get(id)!)) return false;
    for (const d of ctx.o.graph.dependencies(id)) {
      const dep = record.get(d);
      // A dependency with no record of its own (merged before records existed) cannot be judged: the landing stands.
      if (dep === undefined) continue;
      if (dep.hash !== taskHash(ctx.spec, ctx.tasks.get(d)!)) return false;
      if (dep.landed !== landing.landed && !(await ctx.o.git.contains?.(dep.landed, landing.landed))) return false;
    }
    return true;
  }

  /**
   * Marks what the remote shows of other shards' tasks: merged with the definition this file
   * has (its landing reached the local branch by `syncHead`), or recorded failed. A foreign
   * task that depends on a failed one is blocked, as its own shard will block it. Returns
   * whether anything changed.
   */
  async applyRemote(): Promise<boolean> {
    const ctx = this.#ctx;
    const pending = [...this.foreign].filter((id) => ctx.state(id) === 'pending');
    if (pending.length === 0) return false;
    let changed = false;
    const record: ReadonlyMap<string, RecordedMerge> = ctx.o.git.readRecord
      ? recordedMerges(await ctx.o.git.readRecord(ctx.spec.into, ctx.name).catch(() => []), ctx.name)
      : new Map();
    const failed = (await this.#o.port.failedRecords?.().catch(() => undefined)) ?? new Map<string, FailedRecord>();
    const claims = (await this.#o.port.claims?.().catch(() => undefined)) ?? new Map<string, ClaimView>();
    for (const id of pending.sort()) {
      const hash = taskHash(ctx.spec, ctx.tasks.get(id)!);
      const landed = record.get(id);
      if (landed !== undefined && (await this.#stands(id, landed, record))) {
        ctx.transition(id, 'merged', { mergedSha: landed.landed, endedAt: ctx.now() }, `merged by another shard (seen on ${this.#o.port.remote})`);
        changed = true;
        continue;
      }
      const f = failed.get(id);
      if (f !== undefined && f.hash === hash && this.#current(id, f, claims.get(this.#o.shardOf?.(id) ?? ''))) {
        const first = f.detail.split('\n')[0] ?? '';
        ctx.transition(id, 'failed', { endedAt: ctx.now() }, `${f.state} in another shard (recorded on ${this.#o.port.remote}): ${first}`);
        changed = true;
      }
    }
    return this.blockForeign() || changed;
  }

  /**
   * Whether a failed record stands for the last job of its shard. Times are compared only
   * with times from the same machine: the record's date and its shard's claim were both
   * written by that shard. Not when the claim shows a job started after the record (it is
   * running the task again); at once when the claim shows the running job that wrote it;
   * otherwise (that job has ended, or the record's date is past its own shard's heartbeat,
   * as a forged or skewed date would be) only after `graceMs` from when this job first saw
   * it, in case its shard is being re-run right now and has not claimed yet.
   */
  #current(id: string, f: FailedRecord, owner: ClaimView | undefined): boolean {
    if (f.at === undefined) return true;
    // One second of slack: commit times are whole seconds.
    if (owner?.started !== undefined && owner.started > f.at + 1000) return false;
    const beat = owner?.heartbeat;
    if (owner?.state === 'running' && owner.started !== undefined && (beat === undefined || f.at <= beat + RECORD_SLACK_MS)) return true;
    const key = `${id} ${f.at}`;
    const first = this.#firstSeen.get(key) ?? this.#ctx.now();
    this.#firstSeen.set(key, first);
    return this.#ctx.now() - first >= (this.#o.graceMs ?? 30_000);
  }

  /** Foreign tasks whose dependency failed are blocked here too. */
  blockForeign(): boolean {
    const ctx = this.#ctx;
    let changed = false;
    for (const id of ctx.o.graph.ids) {
      if (!this.foreign.has(id) || ctx.state(id) !== 'pending') continue;
      const bad = ctx.o.graph.dependencies(id).find((d) => FAILED_STATES.has(ctx.state(d)));
      if (bad === undefined) continue;
      ctx.transition(id, 'blocked', {}, `blocked: dependency ${bad} ${ctx.state(bad)}`);
      changed = true;
    }
    return changed;
  }

  /** Tasks of this shard that wait on a task of another shard (pending, everything else of theirs settled or not). */
  waiters(): string[] {
    const ctx = this.#ctx;
    return [...ctx.selected].filter(
      (id) => ctx.state(id) === 'pending' && ctx.o.graph.dependencies(id).some((d) => this.foreign.has(d) && ctx.state(d) === 'pending'),
    );
  }

  /** The remote or this shard moved on: the wait's clock starts again. */
  progress(): void {
    this.#quietSince = this.#ctx.now();
    this.#delay = this.#o.pollMs ?? 2000;
    this.#nextPoll = 0;
  }

  /**
   * Called at every scheduler tick. Polls the remote when a task waits on another shard and
   * the backoff allows (`poll` runs where merges cannot interleave); returns the waiting
   * tasks whose wait is over because nothing moved for `limits.shard_wait` while this shard
   * had nothing else to do (`idle`).
   */
  tick(idle: boolean, poll: (work: () => Promise<void>) => void, onChange: () => void): string[] {
    const ctx = this.#ctx;
    const now = ctx.now();
    const waiters = this.waiters();
    if (waiters.length === 0 || !idle) {
      this.#quietSince = now;
      if (waiters.length === 0) return [];
    }
    if (!this.#polling && now >= this.#nextPoll) {
      this.#polling = true;
      poll(async () => {
        try {
          const synced = await this.syncHead();
          if (synced.kind === 'diverged') ctx.stopOnFatal(synced.message);
          if (synced.kind === 'unreachable') ctx.log('warning', `${synced.message}; trying again`);
          const changed = (await this.applyRemote()) || synced.kind === 'moved';
          if (changed) {
            this.progress();
            onChange();
          } else {
            // Jittered, so N shards waiting on one another do not fetch in step.
            this.#delay = Math.min(this.#delay * 2, this.#o.maxPollMs ?? 30_000);
          }
          this.#nextPoll = ctx.now() + this.#delay * (0.75 + Math.random() * 0.5);
        } finally {
          this.#polling = false;
        }
      });
    }
    const waitMs = ctx.spec.limits?.shardWaitMs ?? 60 * 60_000;
    return idle && now - this.#quietSince >= waitMs ? waiters : [];
  }

  /** Why a task stops waiting on another shard. */
  expiredDetail(id: string): string {
    const ctx = this.#ctx;
    const deps = ctx.o.graph.dependencies(id).filter((d) => this.foreign.has(d) && ctx.state(d) === 'pending');
    const waited = Math.round((ctx.spec.limits?.shardWaitMs ?? 60 * 60_000) / 1000);
    return (
      `blocked: ${deps.join(', ')} (another shard's) not merged on ${this.#o.port.remote} and nothing moved there for ${waited}s (limits.shard_wait); ` +
      `run this shard again once ${deps.length === 1 ? 'it has' : 'they have'} merged`
    );
  }
}
