/** Fakes for the engine's ports: an in-memory store, a git that tracks files per branch, gated agents. */
import type { AgentSpec, Spec, TaskSpec } from '../../src/config/spec.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import type {
  AcquireResult,
  AgentInput,
  AgentResult,
  AgentRunner,
  BranchCommit,
  Enforcement,
  GitPort,
  GraphView,
  Lease,
  LeaseRequest,
  LogSink,
  PreparedMerge,
  RunRecord,
  RunStatus,
  RunStore,
  ShellPort,
  ShellResult,
  TaskPatch,
  TaskRecord,
} from '../../src/engine/ports.js';
import type { TaskState } from '../../src/engine/task-state.js';
import { globSetsOverlap } from '../../src/graph/overlap.js';
import { ok } from '../../src/util/result.js';

export function agent(over: Partial<AgentSpec> = {}): AgentSpec {
  return { kind: 'command', command: ['true'], args: [], isolateConfig: false, sandbox: 'auto', ...over };
}

export function makeTask(id: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id,
    title: `Task ${id}`,
    prompt: `do ${id}`,
    files: [`src/${id}/**`],
    dependsOn: [],
    retries: 0,
    allowEmpty: false,
    timeoutMs: 60_000,
    env: {},
    agent: agent(),
    loc: {},
    ...over,
  };
}

export function makeSpec(tasks: TaskSpec[], over: Partial<Spec> = {}): Spec {
  return {
    file: '/tmp/swarm.yaml',
    name: 'test',
    base: 'HEAD',
    into: 'swarm/test',
    concurrency: 4,
    worktrees: '.swarm/worktrees',
    lease: { ttlMs: 600_000, enforce: 'block' },
    merge: { strategy: 'merge', onConflict: 'fail' },
    tasks,
    ...over,
  };
}

/** Longest path to a sink, 1 unit per task. */
export function graphOf(spec: Spec): GraphView {
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  const dependents = (id: string) =>
    spec.tasks
      .filter((t) => t.dependsOn.includes(id))
      .map((t) => t.id)
      .sort();
  const memo = new Map<string, number>();
  const remaining = (id: string): number => {
    if (!memo.has(id)) memo.set(id, 1 + Math.max(0, ...dependents(id).map(remaining)));
    return memo.get(id)!;
  };
  const descendants = (id: string): string[] => {
    const out = new Set<string>();
    const walk = (x: string): void => {
      for (const d of dependents(x)) {
        if (out.has(d)) continue;
        out.add(d);
        walk(d);
      }
    };
    walk(id);
    return [...out].sort();
  };
  return {
    ids: [...byId.keys()].sort(),
    dependencies: (id) => [...byId.get(id)!.dependsOn].sort(),
    dependents,
    descendants,
    remaining,
  };
}

export class MemoryStore implements RunStore {
  runs = new Map<string, RunRecord>();
  tasks = new Map<string, TaskRecord>();
  events: SwarmEvent[] = [];
  leases = new Map<number, Lease>();
  durations = new Map<string, number>();
  #token = 0;
  #leaseId = 0;

  acquire(req: LeaseRequest): AcquireResult {
    for (const l of this.leases.values()) {
      if (l.holder !== req.holder && globSetsOverlap(l.globs, req.globs)) return { ok: false, heldBy: l };
    }
    const now = Date.now();
    const lease: Lease = { ...req, id: ++this.#leaseId, token: ++this.#token, acquiredAt: now, renewedAt: now, expiresAt: now + req.ttlMs };
    this.leases.set(lease.id, lease);
    return { ok: true, lease };
  }
  renew(id: number, token: number): boolean {
    return this.isCurrent(id, token);
  }
  release(id: number, token: number): void {
    if (this.isCurrent(id, token)) this.leases.delete(id);
  }
  list(): Lease[] {
    return [...this.leases.values()];
  }
  isCurrent(id: number, token: number): boolean {
    return this.leases.get(id)?.token === token;
  }
  getRun(name: string) {
    return this.runs.get(name);
  }
  saveRun(run: RunRecord, tasks: readonly { task: string; hash: string; state: TaskState }[]): void {
    this.runs.set(run.name, run);
    for (const t of tasks) {
      const key = `${run.name}/${t.task}`;
      const prev = this.tasks.get(key);
      this.tasks.set(key, { costUsd: 0, turns: 0, attempts: 0, ...prev, run: run.name, task: t.task, hash: t.hash, state: t.state });
    }
  }
  setRunStatus(name: string, status: RunStatus, patch: { finishedAt?: number; costUsd?: number } = {}): void {
    this.runs.set(name, { ...this.runs.get(name)!, status, ...patch });
  }
  setIntegrationHead(name: string, sha: string): void {
    this.runs.set(name, { ...this.runs.get(name)!, headSha: sha });
  }
  getTasks(run: string): TaskRecord[] {
    return [...this.tasks.values()].filter((t) => t.run === run);
  }
  transition(run: string, task: string, to: TaskState, patch: TaskPatch, event: SwarmEvent): void {
    this.tasks.set(`${run}/${task}`, { ...this.tasks.get(`${run}/${task}`)!, ...patch, state: to });
    this.events.push(event);
  }
  updateTask(run: string, task: string, patch: TaskPatch): void {
    this.tasks.set(`${run}/${task}`, { ...this.tasks.get(`${run}/${task}`)!, ...patch });
  }
  appendEvent(event: SwarmEvent): void {
    this.events.push(event);
  }
  attempts: { task: string; attempt: number; outcome?: string }[] = [];
  startAttempt(_run: string, task: string, attempt: number): void {
    this.attempts.push({ task, attempt });
  }
  finishAttempt(_run: string, task: string, attempt: number, patch: { outcome: string }): void {
    const a = this.attempts.find((x) => x.task === task && x.attempt === attempt);
    if (a) a.outcome = patch.outcome;
  }
  learntDurations() {
    return new Map(this.durations);
  }
  recordDuration(task: string, ms: number): void {
    this.durations.set(task, ms);
  }
  releaseRunLeases(run: string): number {
    const mine = [...this.leases.values()].filter((l) => l.run === run);
    for (const l of mine) this.leases.delete(l.id);
    return mine.length;
  }
  interruptOpenAttempts(_run: string): { task: string; attempt: number }[] {
    const open = this.attempts.filter((a) => a.outcome === undefined);
    for (const a of open) a.outcome = 'interrupted';
    return open.map(({ task, attempt }) => ({ task, attempt }));
  }
}

/** Prompts and log lines kept in memory: the engine's unit tests need no folder. */
export class MemoryLogs implements LogSink {
  readonly prompts = new Map<string, string>();
  readonly lines: { task: string; attempt: number; entry: object }[] = [];
  writePrompt(task: string, attempt: number, prompt: string): string {
    const path = `/logs/${task}.${attempt}.prompt.md`;
    this.prompts.set(path, prompt);
    return path;
  }
  logFile(task: string, attempt: number): string {
    return `/logs/${task}.${attempt}.jsonl`;
  }
  append(task: string, attempt: number, entry: object): void {
    this.lines.push({ task, attempt, entry });
  }
}

/** Enforcement whose audit refuses paths under no glob's directory; no symlinks, nothing seen by hooks. */
export function fakeEnforcement(): Enforcement {
  return {
    forTask: () => ({ env: {} }),
    audit: (paths, globs) => paths.filter((p) => !globs.some((g) => p.startsWith(g.replace('/**', '/')))),
    escapingLinks: async () => [],
    watch: async () => ({ after: async () => ({ violations: [], tampered: [] }) }),
  };
}

/** A git where each branch is a set of file names; merges union them unless told to conflict. */
export class FakeGit implements GitPort {
  readonly root = '/repo';
  branches = new Map<string, Set<string>>();
  /** Files each task's agent "writes" when its run finishes ok (set by the test's agent). */
  conflictOnce = new Set<string>();
  merges: string[] = [];
  async resolve() {
    return 'base0000';
  }
  async ensureIntegrationBranch(into: string) {
    if (!this.branches.has(into)) this.branches.set(into, new Set());
    return this.integrationHead(into);
  }
  async integrationHead(into: string) {
    return `${into}@${this.merges.length}`;
  }
  async createWorktree(run: string, task: string, from: string) {
    const branch = `swarm/${run}/${task}`;
    const into = from.split('@')[0]!;
    if (!this.branches.has(branch)) this.branches.set(branch, new Set(this.branches.get(into)));
    return ok({ path: `/wt/${task}`, branch, startSha: from });
  }
  async commitAll() {
    return null;
  }
  async changedPaths(worktree: string) {
    const task = worktree.split('/').pop()!;
    return [...(this.branches.get(`swarm/test/${task}`) ?? [])].filter((f) => f.startsWith(`src/${task}/`) || f.startsWith('outside/'));
  }
  /** The task commit a worktree holds: its task's name stands for it. */
  async headOf(worktree: string) {
    return ok(`tip:${worktree.split('/').pop()!}`);
  }
  async prepareMerge(o: { run: string; into: string; sha: string; expected: string }): Promise<PreparedMerge> {
    const task = o.sha.replace(/^tip:/, '');
    const actual = await this.integrationHead(o.into);
    if (actual !== o.expected) return { kind: 'moved', actual };
    if (this.conflictOnce.has(task)) {
      this.conflictOnce.delete(task);
      return { kind: 'conflict', files: ['shared.txt'] };
    }
    this.#prepared = { task, branch: `swarm/${o.run}/${task}` };
    return { kind: 'prepared', commit: `${o.into}@${this.merges.length + 1}`, cwd: '/wt/_merge' };
  }
  async landMerge(o: { into: string; expected: string }) {
    const p = this.#prepared;
    if (p === undefined || (await this.integrationHead(o.into)) !== o.expected) return false;
    const target = this.branches.get(o.into)!;
    for (const f of this.branches.get(p.branch) ?? []) target.add(f);
    this.merges.push(p.task);
    this.#prepared = undefined;
    return true;
  }
  async abandonMerge() {
    this.#prepared = undefined;
  }
  #prepared: { task: string; branch: string } | undefined;
  async commitPaths() {
    return [];
  }
  async commitsBetween() {
    return [];
  }
  async mergeIntegrationIntoTask(worktree: string, into: string, _head: string) {
    const task = worktree.split('/').pop()!;
    for (const f of this.branches.get(into)!) this.branches.get(`swarm/test/${task}`)!.add(f);
    return { conflicted: ['shared.txt'] };
  }
  async abortTaskMerge() {
    return false;
  }
  async isAncestor(sha: string, into: string) {
    const [branch, n] = sha.split('@');
    return branch === into && Number(n) <= this.merges.length;
  }
  async releaseWorktree() {}
  async isMerged(branch: string) {
    return this.merges.some((t) => branch.endsWith(`/${t}`));
  }
  async removeWorktree() {}
  async deleteBranch(branch: string) {
    this.branches.delete(branch);
  }
  /** Commits a test put on a branch (by branch name), listed as the branch's own. */
  commits = new Map<string, BranchCommit[]>();
  async branchCommits(_from: string, tip: string) {
    return [...(this.commits.get(tip.replace(/^refs\/heads\//, '')) ?? [])];
  }
  async renameBranch(branch: string, to: string) {
    const files = this.branches.get(branch);
    if (files === undefined) throw new Error(`no branch ${branch}`);
    this.branches.set(to, files);
    this.branches.delete(branch);
    this.commits.set(to, this.commits.get(branch) ?? []);
    this.commits.delete(branch);
  }
  async isDirty() {
    return false;
  }
}

export interface AgentCall {
  readonly input: AgentInput;
  /** Files in the task's branch when the agent started: what it "sees". */
  readonly sees: ReadonlySet<string>;
  finish(result?: Partial<AgentResult>, writes?: string[]): void;
}

/** An agent runner whose every run waits until the test finishes it: no sleeps needed. */
export class GatedRunner implements AgentRunner {
  readonly kind = 'command' as const;
  readonly calls: AgentCall[] = [];
  running = 0;
  maxRunning = 0;
  #waiters: ((c: AgentCall) => void)[] = [];
  constructor(readonly git: FakeGit) {}

  async preflight() {
    return ok(undefined);
  }

  run(input: AgentInput): Promise<AgentResult> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const branch = this.git.branches.get(`swarm/${input.run}/${input.task.id}`)!;
    return new Promise<AgentResult>((resolve) => {
      let done = false;
      const finish = (result: Partial<AgentResult> = {}, writes: string[] = [`src/${input.task.id}/a.ts`]) => {
        if (done) return;
        done = true;
        this.running--;
        if (result.ok !== false) for (const w of writes) branch.add(w);
        resolve({ ok: true, exitCode: 0, signal: null, ...result });
      };
      input.signal.addEventListener('abort', () => finish({ ok: false, failure: 'cancelled', exitCode: null, signal: 'SIGTERM' }));
      const call: AgentCall = { input, sees: new Set(branch), finish };
      this.calls.push(call);
      const w = this.#waiters.shift();
      if (w) w(call);
      else this.#queued.push(call);
    });
  }

  #queued: AgentCall[] = [];
  /** The next agent run to start (in start order). */
  next(): Promise<AgentCall> {
    const c = this.#queued.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** Check results by task id: exit codes to hand out in order (default 0). */
export class FakeShell implements ShellPort {
  results = new Map<string, number[]>();
  commands: { command: string; task: string }[] = [];
  async run(o: Parameters<ShellPort['run']>[0]): Promise<ShellResult> {
    const task = o.env.SWARM_TASK!;
    this.commands.push({ command: o.command, task });
    const code = this.results.get(task)?.shift() ?? 0;
    return { exitCode: code, signal: null, timedOut: false, cancelled: false, output: code === 0 ? 'ok' : `FAIL: ${task} expected 2 got 3` };
  }
}

export const clock = { now: () => Date.now() };
