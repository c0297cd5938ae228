import { err, ok, type Result } from '../util/result.js';
import type { Clock } from './ports.js';

/** The git a publisher needs (src/git/remote.ts). */
export interface RemotePort {
  readonly name: string;
  heads(run: string, into: string): Promise<Result<Map<string, string>, string>>;
  fetch(branches: readonly string[]): Promise<Result<void, string>>;
  local(branch: string): Promise<string | undefined>;
  contains(ancestor: string, descendant: string): Promise<boolean>;
  fastForward(branch: string, to: string, from: string | undefined): Promise<Result<void, string>>;
  push(branch: string, sha: string, expected: string | undefined): Promise<Result<void, string>>;
  /** The same compare-and-swap for any ref; `sha` undefined deletes it. Refs under refs/swarm/ are mirrored locally. */
  pushRef(ref: string, sha: string | undefined, expected: string | undefined): Promise<Result<void, string>>;
  /** Fetches the run's refs under refs/swarm/<run>/ into the same local names (pruned); returns them by ref. */
  fetchRecords(run: string): Promise<Result<Map<string, string>, string>>;
  /** Makes a failed record's commit object on `parent` (src/git/failed-record.ts); returns its sha. */
  writeFailedRecord(record: FailedTask & { readonly run: string }, parent: string): Promise<Result<string, string>>;
  /** The ref of `task`'s failed record: refs/swarm/<run>/failed/<task>. */
  failedRef(run: string, task: string): string;
}

/** A task that ended failed or conflicted, as its record on the remote says it. */
/** Whether a refused push lost a compare-and-swap (someone else pushed), rather than failing for another reason. */
export function isLostRace(refusal: string): boolean {
  return /\((stale info|fetch first|non-fast-forward)\)/.test(refusal);
}

export interface FailedTask {
  readonly task: string;
  readonly state: 'failed' | 'conflicted';
  readonly detail: string;
  /** Its definition hash (resume.ts taskHash): a fresh clone continues its branch only while it is unchanged. */
  readonly hash: string;
  /** With --shard: the shard ("K/N") whose job failed it. */
  readonly shard?: string;
}

/** Where a push made in the background (a failed record, a running task's branch) reports to the engine. */
export interface PublishCallbacks {
  /** A push refused (someone else moved the ref): the run stops with this message. */
  readonly refused: (message: string) => void;
  /** Something that did not go out, but need not stop the run. */
  readonly warn: (message: string) => void;
}

/** What `sync` did, for the log and for the run's record of the integration head. */
export interface SyncReport {
  readonly lines: readonly string[];
  /** The integration branch moved forward to the remote's head. */
  readonly integration?: { readonly from: string | undefined; readonly to: string };
}

/** What the engine calls (a narrow port): merges landed, tasks failed or at work, and the run's end. */
export interface PublishPort {
  /** The remote's name, for messages. */
  readonly remote: string;
  /** A merge landed: the integration branch goes out now, or within the push interval. */
  landed(head: string, onRefused: (message: string) => void): void;
  /**
   * The run ends: the integration branch at `head` (undefined: not pushed, it was moved
   * outside swarm) and the branches of `unmerged` tasks that hold work of their own go out;
   * the failed records of `merged` tasks are deleted. The message of a refused push, if one was.
   */
  finish(head: string | undefined, unmerged: readonly string[], merged?: readonly string[]): Promise<string | undefined>;
  /**
   * An attempt of `task` failed (a retry follows, or the task fails): its branch goes out
   * now, when it holds work of its own beyond `head`, so a runner killed later loses at
   * most the attempt in progress.
   */
  taskWork(task: string, head: string, onRefused: (message: string) => void): void;
  /** A task ended failed or conflicted: its branch (work beyond `head`) and then its failed record go out. */
  taskFailed(failed: FailedTask, head: string, on: PublishCallbacks): void;
  /** A task merged, landing `commit`: its failed record goes once a pushed integration head holds that commit. */
  taskMerged(task: string, commit: string): void;
  /**
   * Tasks at work: every `intervalMs`, the branches of `working().tasks` that moved since
   * they were last pushed and hold work beyond `working().head` go out, so a runner killed
   * mid-attempt loses at most that long of committed work. Until `finish`.
   */
  follow(working: () => { readonly head: string; readonly tasks: readonly string[] }, on: PublishCallbacks): void;
}

export interface PublisherOptions {
  readonly remote: RemotePort;
  readonly run: string;
  readonly into: string;
  /** Name of a task's branch. */
  readonly branchOf: (task: string) => string;
  readonly clock: Clock;
  /** Longest time a landed merge, or a running task's committed work, waits to be pushed. @default 30s */
  readonly intervalMs?: number;
  /** Test-only (util/crash-point.ts). */
  readonly crashPoint?: (name: 'push:integration') => void;
}

/**
 * `--push`: the remote is where runs on other machines (a CI re-run, a fresh clone) meet.
 * Before the run, its branches are fetched and local ones brought forward; during it, the
 * integration branch is pushed after merges, and running tasks' branches, at most `intervalMs`
 * late; a failed task's branch and its failed record (src/git/failed-record.ts) when it
 * fails, the record deleted once it merges; at its end, the integration branch and unmerged
 * tasks' work. Every push is a compare-and-swap against
 * what the remote was last seen to hold: a refusal means someone else moved it, and stops
 * the run like a foreign move of the local branch.
 */
export class Publisher implements PublishPort {
  readonly #o: PublisherOptions;
  /** The remote's value of each branch, as last fetched or pushed (absent: not there). */
  readonly #seen = new Map<string, string>();
  /** The same for the run's refs under refs/swarm/ (failed records), by ref. */
  readonly #records = new Map<string, string>();
  /** Merged tasks whose failed record is still on the remote, with the commit that landed each. */
  readonly #mergedSince = new Map<string, string>();
  #follow: NodeJS.Timeout | undefined;
  #lastPush = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #pending: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #refused: string | undefined;
  /** The last push that failed for another reason than a lost race (the remote unreachable, a hook's veto): tried again later. */
  #failed: string | undefined;

  constructor(options: PublisherOptions) {
    this.#o = options;
  }

  get remote(): string {
    return this.#o.remote.name;
  }

  /**
   * Before anything runs: fetch the run's branches; behind fast-forwards, diverged stops.
   * `tasks: false` (`--fresh`) leaves local task branches alone: their remote heads are only
   * noted, as the expected values of the pushes that replace them.
   */
  async sync(opts: { tasks?: boolean } = {}): Promise<Result<SyncReport, string>> {
    const { remote, run, into } = this.#o;
    const heads = await remote.heads(run, into);
    if (!heads.ok) return heads;
    const branches = [...heads.value.keys()].sort();
    const fetched = await remote.fetch(branches);
    if (!fetched.ok) return fetched;
    const lines: string[] = [];
    let integration: SyncReport['integration'];
    for (const branch of branches) {
      const theirs = heads.value.get(branch)!;
      this.#seen.set(branch, theirs);
      if (opts.tasks === false && branch !== into) continue;
      const mine = await remote.local(branch);
      if (mine === theirs) continue;
      if (mine !== undefined && (await remote.contains(theirs, mine))) continue; // ahead: pushed later
      if (mine !== undefined && !(await remote.contains(mine, theirs))) {
        return err(
          `--push: the branch ${branch} has diverged from ${remote.name}: here it is at ${mine.slice(0, 12)}, on ${remote.name} at ${theirs.slice(0, 12)}, ` +
            `and neither contains the other. swarm moves neither: keep the one you want (e.g. \`git branch -f ${branch} ${remote.name}/${branch}\`, ` +
            `or push yours), then run again`,
        );
      }
      const moved = await remote.fastForward(branch, theirs, mine);
      if (!moved.ok) return moved;
      lines.push(
        mine === undefined
          ? `${branch} taken from ${remote.name} at ${theirs.slice(0, 12)}`
          : `${branch} fast-forwarded to ${remote.name}'s ${theirs.slice(0, 12)} (was ${mine.slice(0, 12)})`,
      );
      if (branch === into) integration = { from: mine, to: theirs };
    }
    const records = await remote.fetchRecords(run);
    if (!records.ok) return records;
    for (const [ref, sha] of records.value) this.#records.set(ref, sha);
    return ok({ lines, ...(integration ? { integration } : {}) });
  }

  /** The remote holds `branch` at `sha` now (with --shard, pushed or fetched outside the publisher): later pushes expect it. */
  saw(branch: string, sha: string): void {
    this.#seen.set(branch, sha);
  }

  landed(head: string, onRefused: (message: string) => void): void {
    this.#pending = head;
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastPush + (this.#o.intervalMs ?? 30_000) - this.#o.clock.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#serial(async () => {
        const sha = this.#pending;
        if (sha === undefined || this.#refused !== undefined) return;
        const refused = (await this.#pushIntegration(sha)) ?? (await this.#dropRecords(sha, []));
        if (refused !== undefined) onRefused(refused);
      });
    }, wait);
    this.#timer.unref?.();
  }

  async finish(head: string | undefined, unmerged: readonly string[], merged: readonly string[] = []): Promise<string | undefined> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#follow !== undefined) clearInterval(this.#follow);
    this.#timer = undefined;
    this.#follow = undefined;
    return this.#serial(async () => {
      if (this.#refused !== undefined) return this.#refused;
      // The end's pushes are the last chance: one that fails now is the run's error.
      this.#failed = undefined;
      if (head !== undefined) {
        const refused = (await this.#pushIntegration(head)) ?? (await this.#dropRecords(head, merged));
        if (refused !== undefined) return refused;
      }
      for (const task of [...unmerged].sort()) {
        const branch = this.#o.branchOf(task);
        const tip = await this.#o.remote.local(branch);
        // Only work of its own: a branch at (or behind) the integration head holds nothing to keep.
        if (tip === undefined || tip === this.#seen.get(branch) || (head !== undefined && (await this.#o.remote.contains(tip, head)))) continue;
        const refused = await this.#push(branch, tip);
        if (refused !== undefined) return refused;
      }
      return this.#failed;
    });
  }

  taskWork(task: string, head: string, onRefused: (message: string) => void): void {
    void this.#serial(async () => {
      if (this.#refused !== undefined) return;
      const refused = await this.#pushWork(task, head);
      if (refused !== undefined) onRefused(refused);
    });
  }

  taskFailed(failed: FailedTask, head: string, on: PublishCallbacks): void {
    void this.#serial(async () => {
      if (this.#refused !== undefined) return;
      const pushed = await this.#pushWork(failed.task, head);
      if (pushed !== undefined) return on.refused(pushed);
      const { remote, run } = this.#o;
      const parent = (await remote.local(this.#o.branchOf(failed.task))) ?? head;
      const record = await remote.writeFailedRecord({ ...failed, run }, parent);
      if (!record.ok) return on.warn(`--push: the record of ${failed.task}'s failure could not be made (${record.error}); its branch went out without it`);
      this.#mergedSince.delete(failed.task);
      const refused = await this.#pushRef(remote.failedRef(run, failed.task), record.value);
      if (refused !== undefined) on.refused(refused);
    });
  }

  taskMerged(task: string, commit: string): void {
    this.#mergedSince.set(task, commit);
  }

  follow(working: () => { readonly head: string; readonly tasks: readonly string[] }, on: PublishCallbacks): void {
    if (this.#follow !== undefined) return;
    this.#follow = setInterval(() => {
      void this.#serial(async () => {
        if (this.#refused !== undefined) return;
        const { head, tasks } = working();
        for (const task of tasks) {
          const refused = await this.#pushWork(task, head);
          if (refused !== undefined) return on.refused(refused);
        }
      });
    }, this.#o.intervalMs ?? 30_000);
    this.#follow.unref?.();
  }

  /** A task's branch, when it moved since last pushed and holds work of its own beyond `head`. */
  async #pushWork(task: string, head: string): Promise<string | undefined> {
    const branch = this.#o.branchOf(task);
    const tip = await this.#o.remote.local(branch);
    if (tip === undefined || tip === this.#seen.get(branch) || (await this.#o.remote.contains(tip, head))) return undefined;
    return this.#push(branch, tip);
  }

  /**
   * Deletes the failed records of tasks merged into `head` (just pushed): those `taskMerged`
   * heard of, and `also` (the run's merged tasks, at its end). After the integration push,
   * so the remote never holds neither the failure nor the merge.
   */
  async #dropRecords(head: string, also: readonly string[]): Promise<string | undefined> {
    const { remote, run } = this.#o;
    const tasks = new Set(also);
    for (const [task, commit] of this.#mergedSince) if (await remote.contains(commit, head)) tasks.add(task);
    for (const task of [...tasks].sort()) {
      this.#mergedSince.delete(task);
      const ref = remote.failedRef(run, task);
      if (!this.#records.has(ref)) continue;
      const refused = await this.#pushRef(ref, undefined);
      if (refused !== undefined) return refused;
    }
    return undefined;
  }

  async #pushIntegration(sha: string): Promise<string | undefined> {
    if (this.#seen.get(this.#o.into) === sha) return undefined;
    this.#o.crashPoint?.('push:integration');
    this.#lastPush = this.#o.clock.now();
    return this.#push(this.#o.into, sha);
  }

  async #push(branch: string, sha: string): Promise<string | undefined> {
    const expected = this.#seen.get(branch);
    const pushed = await this.#o.remote.push(branch, sha, expected);
    if (pushed.ok) {
      this.#seen.set(branch, sha);
      return undefined;
    }
    return this.#refusal(branch, 'branch', expected, pushed.error);
  }

  /** A record under refs/swarm/: set to `sha`, or deleted (undefined), over what was last seen there. */
  async #pushRef(ref: string, sha: string | undefined): Promise<string | undefined> {
    const expected = this.#records.get(ref);
    const pushed = await this.#o.remote.pushRef(ref, sha, expected);
    if (!pushed.ok) return this.#refusal(ref, 'ref', expected, pushed.error);
    if (sha === undefined) this.#records.delete(ref);
    else this.#records.set(ref, sha);
    return undefined;
  }

  #refusal(what: string, kind: 'branch' | 'ref', expected: string | undefined, error: string): string | undefined {
    if (!isLostRace(error)) {
      // Not someone else's push: the remote could not be reached, or refused for its own reasons. Tried again at the
      // next push (the interval, the end); the end's pushes report it.
      this.#failed = `--push: could not push ${what} to ${this.#o.remote.name} (git: ${error}); the work is on the local branches: run again to push it`;
      return undefined;
    }
    const where = expected === undefined ? `nothing: the ${kind} did not exist there` : expected.slice(0, 12);
    this.#refused ??=
      `--push: ${this.#o.remote.name} refused ${what}: swarm pushes only over what it last saw there (${where}), and it is not there any more: ` +
      `someone else pushed it meanwhile (git: ${error}). Nothing more is merged or pushed; look at it (\`git fetch ${this.#o.remote.name}\`), then run again`;
    return this.#refused;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
