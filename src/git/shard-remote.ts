import type { FailedRecord, ShardClaim, ShardRemotePort } from '../engine/shard-link.js';
import { isLostRace } from '../engine/publish.js';
import { err, ok, type Result } from '../util/result.js';
import { GitRunner } from './exec.js';
import { readFailedRecords } from './failed-record.js';
import { lastLines } from './remote.js';
import { identityArgs } from './identity.js';

/**
 * The git plumbing of `--shard K/N`: the shards of a run meet only at the remote. This
 * fetches the integration branch and the run's own refs (`refs/swarm/<run>/*`), pushes
 * the integration branch as a compare-and-swap, and keeps the shard's claim: a parentless
 * commit at `refs/swarm/<run>/shards/<K>-of-<N>` whose message says who runs the shard and
 * when it last said so (a heartbeat). The policy is engine/shard-link.ts.
 */
export class ShardRemote implements ShardRemotePort {
  readonly remote: string;
  readonly label: string;
  readonly #root: string;
  readonly #run: string;
  readonly #into: string;
  readonly #claimRef: string;
  readonly #runner = new GitRunner();
  /** The claim ref's value on the remote, as last seen. */
  #claimed: string | undefined;

  constructor(o: { root: string; remote: string; run: string; into: string; index: number; count: number }) {
    this.#root = o.root;
    this.remote = o.remote;
    this.#run = o.run;
    this.#into = o.into;
    this.label = `${o.index}/${o.count}`;
    this.#claimRef = `refs/swarm/${o.run}/shards/${o.index}-of-${o.count}`;
  }

  /** The remote-tracking ref the integration branch is fetched into. */
  get trackingRef(): string {
    return `refs/remotes/${this.remote}/${this.#into}`;
  }

  async fetchHead(): Promise<Result<string | undefined, string>> {
    const listed = await this.#git(['ls-remote', '--', this.remote, `refs/heads/${this.#into}`]);
    if (listed.exitCode !== 0) return err(`--shard: cannot reach the remote ${this.remote}: ${lastLines(listed.stderr)}`);
    const head = listed.stdout
      .split('\n')
      .find((l) => l.endsWith(`\trefs/heads/${this.#into}`))
      ?.split('\t')[0];
    const specs = [`+refs/swarm/${this.#run}/*:refs/swarm/${this.#run}/*`, ...(head ? [`+refs/heads/${this.#into}:${this.trackingRef}`] : [])];
    // --prune: a failure record deleted on the remote (its task merged since) goes here too.
    const out = await this.#git(['fetch', '-q', '--no-tags', '--prune', '--no-write-fetch-head', '--', this.remote, ...specs]);
    if (out.exitCode !== 0) return err(`--shard: fetching from ${this.remote} failed: ${lastLines(out.stderr)}`);
    return ok(head);
  }

  /** Every shard's claim as `fetchHead` brought it (local refs), by label "K/N". */
  async claims(): Promise<ReadonlyMap<string, HeldClaim>> {
    const prefix = `refs/swarm/${this.#run}/shards/`;
    const out = await this.#git(['for-each-ref', '--format=%(refname)%1f%(contents)%1e', '--', prefix]);
    const claims = new Map<string, HeldClaim>();
    for (const chunk of out.stdout.split('\x1e')) {
      const [ref = '', message = ''] = chunk.replace(/^\n/, '').split('\x1f');
      const m = /^(\d+)-of-(\d+)$/.exec(ref.slice(prefix.length));
      const held = parseClaim(message);
      if (m && held) claims.set(`${m[1]}/${m[2]}`, held);
    }
    return claims;
  }

  /** The failure records `fetchHead` brought (src/git/failed-record.ts): tasks another shard failed. */
  failedRecords(): Promise<ReadonlyMap<string, FailedRecord>> {
    return readFailedRecords(this.#runner, this.#root, this.#run);
  }

  async pushHead(sha: string, expected: string | undefined): Promise<Result<void, string>> {
    return this.#push(`refs/heads/${this.#into}`, sha, expected);
  }

  async claim(me: ShardClaim, staleMs: number, now: number): Promise<Result<void, string>> {
    const listed = await this.#git(['ls-remote', '--', this.remote, this.#claimRef]);
    if (listed.exitCode !== 0) return err(`--shard: cannot reach the remote ${this.remote}: ${lastLines(listed.stderr)}`);
    const current = listed.stdout.split('\t')[0]?.trim() || undefined;
    if (current !== undefined) {
      const fetched = await this.#git(['fetch', '-q', '--no-tags', '--no-write-fetch-head', '--', this.remote, `+${this.#claimRef}:${this.#claimRef}`]);
      if (fetched.exitCode !== 0) return err(`--shard: fetching from ${this.remote} failed: ${lastLines(fetched.stderr)}`);
      const held = parseClaim((await this.#git(['log', '-1', '--format=%B', current])).stdout);
      const refusal = held === undefined ? undefined : claimRefusal(held, me, staleMs, now, this.label, this.#run, this.remote);
      if (refusal !== undefined) return err(refusal);
    }
    this.#claimed = current;
    const beat = await this.heartbeat(me, 'running', now);
    if (!beat.ok && !lostRace(beat.error)) {
      // A hook's veto, no permission, the remote gone: not another job (that would be a lost compare-and-swap).
      return err(`--shard: ${this.remote} refused the claim of shard ${this.label} of the run "${this.#run}" (${beat.error}); nothing was run`);
    }
    if (!beat.ok) {
      return err(
        `--shard: shard ${this.label} of the run "${this.#run}" was claimed on ${this.remote} by another job at the same moment; a second job of one shard would race it. ` +
          `Run one job per shard (look at it with \`git ls-remote ${this.remote} ${this.#claimRef}\`)`,
      );
    }
    return ok(undefined);
  }

  async heartbeat(me: ShardClaim, state: string, now: number): Promise<Result<void, string>> {
    const message = [
      `swarm: shard ${this.label} of ${this.#run}`,
      '',
      `Swarm-Run: ${this.#run}`,
      `Swarm-Shard: ${this.label}`,
      `Swarm-Runner: ${me.host} ${me.pid}${me.pidStart ? ` ${me.pidStart}` : ''}`,
      `Swarm-Started: ${new Date(me.startedAt ?? now).toISOString()}`,
      `Swarm-Heartbeat: ${new Date(now).toISOString()}`,
      `Swarm-State: ${state}`,
      '',
    ].join('\n');
    // stdin is empty: the empty tree.
    const tree = (await this.#git(['mktree'])).stdout.trim();
    const identity = await identityArgs(this.#runner, this.#root);
    const made = await this.#git([...identity, 'commit-tree', tree, '-m', message]);
    const commit = made.stdout.trim();
    if (made.exitCode !== 0 || commit === '') return err(`--shard: could not write the shard's claim: ${lastLines(made.stderr)}`);
    const pushed = await this.#push(this.#claimRef, commit, this.#claimed);
    if (!pushed.ok) return pushed;
    this.#claimed = commit;
    return ok(undefined);
  }

  async #push(ref: string, sha: string, expected: string | undefined): Promise<Result<void, string>> {
    const out = await this.#git(['push', '--porcelain', '--no-verify', `--force-with-lease=${ref}:${expected ?? ''}`, '--', this.remote, `${sha}:${ref}`]);
    return out.exitCode === 0 ? ok(undefined) : err(lastLines(`${out.stdout}\n${out.stderr}`));
  }

  #git(args: readonly string[]) {
    return this.#runner.run(args, { cwd: this.#root });
  }
}

/** What a shard's claim says. */
export interface HeldClaim {
  readonly host: string;
  readonly pid: number;
  readonly pidStart?: string;
  readonly heartbeat: number;
  /** When the job holding it started (ms); absent in claims written before it was recorded. */
  readonly started?: number;
  readonly state: string;
}

export function parseClaim(message: string): HeldClaim | undefined {
  const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(message)?.[1]?.trim();
  const runner = field('Swarm-Runner')?.split(' ');
  const heartbeat = Date.parse(field('Swarm-Heartbeat') ?? '');
  const started = Date.parse(field('Swarm-Started') ?? '');
  if (!runner || runner.length < 2 || Number.isNaN(heartbeat)) return undefined;
  return {
    host: runner[0]!,
    pid: Number(runner[1]),
    ...(runner[2] ? { pidStart: runner[2] } : {}),
    heartbeat,
    ...(Number.isNaN(started) ? {} : { started }),
    state: field('Swarm-State') ?? 'running',
  };
}

/**
 * Why a claim held by another job stops this one (undefined: it may be taken over). A
 * claim is live while its job says it is running and its heartbeat is younger than
 * `staleMs`; one on this machine whose process is gone is stale at once.
 */
export function claimRefusal(held: HeldClaim, me: ShardClaim, staleMs: number, now: number, label: string, run: string, remote: string): string | undefined {
  if (held.state !== 'running') return undefined;
  if (held.host === me.host && !me.alive(held.pid, held.pidStart)) return undefined;
  const age = Math.max(0, now - held.heartbeat);
  if (age >= staleMs) return undefined;
  const after = Math.ceil((staleMs - age) / 1000);
  return (
    `--shard: shard ${label} of the run "${run}" is running on ${held.host} (pid ${held.pid}; its last heartbeat on ${remote} ${Math.round(age / 1000)}s ago); ` +
    `a second job of the same shard would race it. If that job is dead, run this again in ${after}s, when its claim has gone stale`
  );
}

/**
 * Whether a push's refusal says the ref moved since swarm last saw it (a compare-and-swap
 * lost to another writer), rather than that the remote could not be reached or vetoed it.
 */
export const lostRace = isLostRace;
