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
}

/** What `sync` did, for the log and for the run's record of the integration head. */
export interface SyncReport {
  readonly lines: readonly string[];
  /** The integration branch moved forward to the remote's head. */
  readonly integration?: { readonly from: string | undefined; readonly to: string };
}

/** What the engine calls (a narrow port): merges landed, and the run's end. */
export interface PublishPort {
  /** A merge landed: the integration branch goes out now, or within the push interval. */
  landed(head: string, onRefused: (message: string) => void): void;
  /**
   * The run ends: the integration branch at `head` (undefined: not pushed, it was moved
   * outside swarm) and the branches of `unmerged` tasks that hold work of their own go out.
   * The message of a refused push, if one was.
   */
  finish(head: string | undefined, unmerged: readonly string[]): Promise<string | undefined>;
  /**
   * An attempt of `task` failed (a retry follows, or the task fails): its branch goes out
   * now, when it holds work of its own beyond `head`, so a runner killed later loses at
   * most the attempt in progress.
   */
  taskWork(task: string, head: string, onRefused: (message: string) => void): void;
}

export interface PublisherOptions {
  readonly remote: RemotePort;
  readonly run: string;
  readonly into: string;
  /** Name of a task's branch. */
  readonly branchOf: (task: string) => string;
  readonly clock: Clock;
  /** Longest time a landed merge waits to be pushed. @default 30s */
  readonly intervalMs?: number;
  /** Test-only (util/crash-point.ts). */
  readonly crashPoint?: (name: 'push:integration') => void;
}

/**
 * `--push`: the remote is where runs on other machines (a CI re-run, a fresh clone) meet.
 * Before the run, its branches are fetched and local ones brought forward; during it, the
 * integration branch is pushed after merges, at most `intervalMs` late; at its end, the
 * integration branch and unmerged tasks' work. Every push is a compare-and-swap against
 * what the remote was last seen to hold: a refusal means someone else moved it, and stops
 * the run like a foreign move of the local branch.
 */
export class Publisher implements PublishPort {
  readonly #o: PublisherOptions;
  /** The remote's value of each branch, as last fetched or pushed (absent: not there). */
  readonly #seen = new Map<string, string>();
  #lastPush = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #pending: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #refused: string | undefined;

  constructor(options: PublisherOptions) {
    this.#o = options;
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
        const refused = await this.#pushIntegration(sha);
        if (refused !== undefined) onRefused(refused);
      });
    }, wait);
    this.#timer.unref?.();
  }

  async finish(head: string | undefined, unmerged: readonly string[]): Promise<string | undefined> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#serial(async () => {
      if (this.#refused !== undefined) return this.#refused;
      if (head !== undefined) {
        const refused = await this.#pushIntegration(head);
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
      return undefined;
    });
  }

  taskWork(task: string, head: string, onRefused: (message: string) => void): void {
    void this.#serial(async () => {
      if (this.#refused !== undefined) return;
      const branch = this.#o.branchOf(task);
      const tip = await this.#o.remote.local(branch);
      if (tip === undefined || tip === this.#seen.get(branch) || (await this.#o.remote.contains(tip, head))) return;
      const refused = await this.#push(branch, tip);
      if (refused !== undefined) onRefused(refused);
    });
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
    const where = expected === undefined ? 'nothing: the branch did not exist there' : expected.slice(0, 12);
    this.#refused ??=
      `--push: ${this.#o.remote.name} refused ${branch}: swarm pushes only over what it last saw there (${where}), and it is not there any more: ` +
      `someone else pushed it meanwhile (git: ${pushed.error}). Nothing more is merged or pushed; look at it (\`git fetch ${this.#o.remote.name}\`), then run again`;
    return this.#refused;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
