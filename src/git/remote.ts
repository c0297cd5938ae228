import { basename } from 'node:path';
import type { RemotePort } from '../engine/publish.js';
import { err, ok, type Result } from '../util/result.js';
import { GitRunner } from './exec.js';
import { type FailedRecordInput, failedRecordRef, runRefs, writeFailedRecord } from './failed-record.js';
import { MERGE_DIR, taskBranch } from './names.js';
import { parseWorktreeList } from './worktree-list.js';

/**
 * The git plumbing of `--push`: which of a run's branches a remote has, fetching them into
 * `refs/remotes/<remote>/` (and its records under refs/swarm/<run>/ into the same names),
 * moving a local branch forward, and pushing as a compare-and-swap.
 * The policy (what to fetch, when to push, what a refusal means) is engine/publish.ts.
 */
export class Remote implements RemotePort {
  readonly name: string;
  readonly #root: string;
  readonly #runner: GitRunner;

  private constructor(root: string, name: string, runner: GitRunner) {
    this.#root = root;
    this.name = name;
    this.#runner = runner;
  }

  /**
   * A remote configured in the repository (`git remote`); a URL or an unknown name is
   * refused, in a message naming `flag` (the option that gave the name).
   */
  static async open(root: string, name: string, flag = '--push'): Promise<Result<Remote, string>> {
    const runner = new GitRunner();
    const out = await runner.run(['remote', 'get-url', '--', name], { cwd: root });
    if (out.exitCode !== 0 || name.startsWith('-')) {
      const known = (await runner.run(['remote'], { cwd: root })).stdout.split('\n').filter(Boolean);
      return err(
        `${flag}: no remote named "${name}" in ${root} (remotes: ${known.length > 0 ? known.join(', ') : 'none'}); expected the name of one, e.g. origin`,
      );
    }
    return ok(new Remote(root, name, runner));
  }

  /** The remote's heads among `into` and the run's task branches, by branch name. */
  async heads(run: string, into: string): Promise<Result<Map<string, string>, string>> {
    const out = await this.#runner.run(['ls-remote', '--heads', '--', this.name, `refs/heads/${into}`, `refs/heads/${taskBranch(run, '')}*`], {
      cwd: this.#root,
    });
    if (out.exitCode !== 0) return err(`--push: cannot reach the remote ${this.name}: ${lastLines(out.stderr)}`);
    const heads = new Map<string, string>();
    for (const line of out.stdout.split('\n')) {
      const [sha = '', ref = ''] = line.split('\t');
      const branch = ref.replace(/^refs\/heads\//, '');
      // ls-remote matches patterns at the end of a ref's name: keep exactly ours.
      if (branch === into || branch.startsWith(taskBranch(run, ''))) heads.set(branch, sha);
    }
    return ok(heads);
  }

  /** Fetches these branches into `refs/remotes/<remote>/`, so their commits are here. */
  async fetch(branches: readonly string[]): Promise<Result<void, string>> {
    if (branches.length === 0) return ok(undefined);
    const specs = branches.map((b) => `+refs/heads/${b}:refs/remotes/${this.name}/${b}`);
    const out = await this.#runner.run(['fetch', '-q', '--no-tags', '--no-write-fetch-head', '--', this.name, ...specs], { cwd: this.#root });
    return out.exitCode === 0 ? ok(undefined) : err(`--push: fetching from ${this.name} failed: ${lastLines(out.stderr)}`);
  }

  /**
   * For `swarm status --remote`: fetches `into` to `refs/remotes/<remote>/<into>` and the
   * run's `refs/swarm/<run>/*` to the same names here, and says what the remote has: its
   * `into` (undefined: no such branch there) and the names of its refs under `refs/swarm/<run>/`.
   * Local refs there that the remote no longer has are left alone (a runner in this clone
   * may own them); the reader believes only the names returned.
   */
  async fetchRunRecord(run: string, into: string, flag: string): Promise<Result<{ into?: string; refs: Set<string> }, string>> {
    const prefix = `refs/swarm/${run}/`;
    const listed = await this.#runner.run(['ls-remote', '--', this.name, `refs/heads/${into}`, `${prefix}*`], { cwd: this.#root });
    if (listed.exitCode !== 0) return err(`${flag}: cannot reach the remote ${this.name}: ${lastLines(listed.stderr)}`);
    let head: string | undefined;
    const refs = new Set<string>();
    for (const line of listed.stdout.split('\n')) {
      const [sha = '', ref = ''] = line.split('\t');
      if (ref === `refs/heads/${into}`) head = sha;
      else if (ref.startsWith(prefix)) refs.add(ref);
    }
    const specs = [
      ...(head !== undefined ? [`+refs/heads/${into}:refs/remotes/${this.name}/${into}`] : []),
      ...(refs.size > 0 ? [`+${prefix}*:${prefix}*`] : []),
    ];
    if (specs.length > 0) {
      const out = await this.#runner.run(['fetch', '-q', '--no-tags', '--no-write-fetch-head', '--', this.name, ...specs], { cwd: this.#root });
      if (out.exitCode !== 0) return err(`${flag}: fetching from ${this.name} failed: ${lastLines(out.stderr)}`);
    }
    return ok({ ...(head !== undefined ? { into: head } : {}), refs });
  }

  async local(branch: string): Promise<string | undefined> {
    const out = await this.#runner.run(['rev-parse', '-q', '--verify', `refs/heads/${branch}^{commit}`], { cwd: this.#root });
    return out.exitCode === 0 ? out.stdout.trim() : undefined;
  }

  async contains(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.#runner.run(['merge-base', '--is-ancestor', ancestor, descendant], { cwd: this.#root })).exitCode === 0;
  }

  /**
   * Moves `branch` from `from` (undefined: it does not exist) to `to`. A task branch checked
   * out in its worktree moves there (`merge --ff-only`), so the files follow; the integration
   * branch moves by `update-ref` alone: its merge worktree is settled before every merge.
   */
  async fastForward(branch: string, to: string, from: string | undefined): Promise<Result<void, string>> {
    const list = await this.#runner.run(['worktree', 'list', '--porcelain', '-z'], { cwd: this.#root });
    const holder = parseWorktreeList(list.stdout).find((e) => e.branch === branch && !e.prunable);
    const out =
      holder !== undefined && basename(holder.path) !== MERGE_DIR
        ? await this.#runner.run(['merge', '-q', '--ff-only', to], { cwd: holder.path })
        : await this.#runner.run(['update-ref', '-m', `swarm: fast-forward from ${this.name}`, `refs/heads/${branch}`, to, from ?? ''], { cwd: this.#root });
    return out.exitCode === 0 ? ok(undefined) : err(`--push: could not move ${branch} to ${this.name}'s ${to.slice(0, 12)}: ${lastLines(out.stderr)}`);
  }

  /**
   * Pushes `sha` to `branch` only if the remote's branch is at `expected` (undefined: absent):
   * `--force-with-lease=<ref>:<expected>`. The refusal's text when it was refused.
   */
  push(branch: string, sha: string, expected: string | undefined): Promise<Result<void, string>> {
    return this.pushRef(`refs/heads/${branch}`, sha, expected);
  }

  /**
   * The same compare-and-swap for any ref; `sha` undefined deletes it (`:<ref>`). A ref under
   * refs/swarm/ (a run's records) is mirrored locally once pushed, so what is read here is
   * what the remote holds.
   */
  async pushRef(ref: string, sha: string | undefined, expected: string | undefined): Promise<Result<void, string>> {
    const out = await this.#runner.run(
      ['push', '--porcelain', '--no-verify', `--force-with-lease=${ref}:${expected ?? ''}`, '--', this.name, `${sha ?? ''}:${ref}`],
      { cwd: this.#root },
    );
    if (out.exitCode !== 0) return err(lastLines(`${out.stdout}\n${out.stderr}`));
    if (ref.startsWith('refs/swarm/')) {
      const args = sha === undefined ? ['update-ref', '-d', ref] : ['update-ref', ref, sha];
      await this.#runner.run(args, { cwd: this.#root });
    }
    return ok(undefined);
  }

  /**
   * The run's refs under refs/swarm/ (its failed records), fetched under the same names;
   * local ones the remote no longer has go (`--prune`). Returns them, by ref.
   */
  async fetchRecords(run: string): Promise<Result<Map<string, string>, string>> {
    const spec = `+${runRefs(run)}*:${runRefs(run)}*`;
    const out = await this.#runner.run(['fetch', '-q', '--prune', '--no-tags', '--no-write-fetch-head', '--', this.name, spec], { cwd: this.#root });
    if (out.exitCode !== 0) return err(`--push: fetching the run's records (${runRefs(run)}) from ${this.name} failed: ${lastLines(out.stderr)}`);
    const list = await this.#runner.run(['for-each-ref', '--format=%(refname) %(objectname)', '--', runRefs(run)], { cwd: this.#root });
    const refs = new Map<string, string>();
    for (const line of list.stdout.split('\n')) {
      const [ref = '', sha = ''] = line.split(' ');
      if (ref !== '' && sha !== '') refs.set(ref, sha);
    }
    return ok(refs);
  }

  failedRef(run: string, task: string): string {
    return failedRecordRef(run, task);
  }

  /** Makes a failed record's commit object (src/git/failed-record.ts), on no branch. */
  async writeFailedRecord(record: FailedRecordInput, parent: string): Promise<Result<string, string>> {
    try {
      return ok(await writeFailedRecord(this.#runner, this.#root, record, parent));
    } catch (error) {
      return err(error instanceof Error ? error.message : String(error));
    }
  }
}

/** The last lines of git's output that say something (its progress and `To ...` lines left out). */
export function lastLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'Done' && !l.startsWith('To '))
    .slice(-3)
    .join('; ');
}
