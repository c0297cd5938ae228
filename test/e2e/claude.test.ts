/**
 * `swarm run` driving the REAL Claude Code CLI (node_modules/.bin/claude) end to end:
 * the built CLI, a real temp git repository, real worktrees, our PreToolUse hook and the
 * scripted model server standing in for the Anthropic API.
 *
 * The model server answers with one function of the request: it finds the task in the
 * prompt ("You are the agent for task ...") and the worktree in the system prompt's
 * environment section ("Primary working directory: ..."), exactly what a real model sees,
 * and writes with absolute paths inside that worktree. A claude start costs ~2.5 s of CPU,
 * so each test starts as few as it can. Afterwards, the run is read back the way a user
 * would: the integration branch, `swarm status --json`, and (for the hook) the events in state.db.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reapOrphans } from '../../src/agents/orphans.js';
import { readStat } from '../../src/util/process-family.js';
import type { StatusJson } from '../../src/cli/commands/status.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import {
  apiError,
  claudeEnv,
  messagesText,
  reply,
  startModelServer,
  toolResults,
  toolUse,
  type ModelServer,
  type RecordedRequest,
  type Turn,
} from '../helpers/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const RUN = 'e2e';

let server: ModelServer;
let home: string;
/** Anything the scripted model could not make sense of; asserted empty after each test. */
let scriptErrors: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-e2e-claude-home-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  const errors = scriptErrors;
  scriptErrors = [];
  expect(errors, 'the scripted model understood every request').toEqual([]);
});

// ------------------------------------------------------------------ the scripted model

interface Ctx {
  readonly req: RecordedRequest;
  readonly task: string;
  /** The worktree claude says it works in. */
  readonly worktree: string;
  /** Tool results in the whole conversation so far: 0 on a fresh session's first request. */
  readonly step: number;
  /** The text of the last user message (the prompt, a follow-up, or tool results). */
  readonly last: string;
}

/** One model for the whole run: each task's agent gets its own handler. */
function model(handlers: Record<string, (ctx: Ctx) => Turn>): (req: RecordedRequest) => Turn {
  return (req) => {
    const text = messagesText(req);
    const task = /You are the agent for task "([^"]+)"/.exec(text)?.[1];
    const worktree = /Primary working directory: (.+)/.exec(systemText(req))?.[1]?.trim();
    const handler = task === undefined ? undefined : handlers[task];
    if (task === undefined || worktree === undefined || handler === undefined) {
      scriptErrors.push(`no handler: task ${task}, worktree ${worktree}`);
      return reply('confused');
    }
    const messages = req.body?.messages ?? [];
    const step = messages.reduce((n, m) => n + (typeof m.content === 'string' ? 0 : m.content.filter((b) => b.type === 'tool_result').length), 0);
    try {
      return handler({ req, task, worktree, step, last: lastMessageText(req) });
    } catch (error) {
      scriptErrors.push(`${task}: ${String(error)}`);
      return reply('confused');
    }
  };
}

function systemText(req: RecordedRequest): string {
  const system = req.body?.system;
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return system.map((b: { text?: unknown }) => (typeof b.text === 'string' ? b.text : '')).join('\n');
}

/** The text of a request's last message: the prompt, a follow-up, or tool results. */
function lastMessageText(req: RecordedRequest): string {
  const messages = req.body?.messages ?? [];
  const last = messages[messages.length - 1];
  return last === undefined ? '' : messagesText({ ...req, body: { messages: [last] } });
}

const write = (worktree: string, path: string, content: string): Turn => toolUse('Write', { file_path: join(worktree, path), content });
const resultText = (req: RecordedRequest): string =>
  toolResults(req)
    .map((b) => JSON.stringify(b.content))
    .join('\n');

// ------------------------------------------------------------------ running swarm

interface TaskDef {
  id: string;
  files: string[];
  deps?: string[];
  check?: string;
  retries?: number;
}

function swarmYaml(tasks: TaskDef[], opts: { concurrency?: number; tools?: string[]; isolateConfig?: boolean } = {}): string {
  return [
    'version: 1',
    `name: ${RUN}`,
    `concurrency: ${opts.concurrency ?? 2}`,
    'retries: 0',
    'timeout: 5m',
    'agent:',
    '  kind: claude',
    `  bin: ${JSON.stringify(CLAUDE)}`,
    // As root, bypassPermissions needs IS_SANDBOX; acceptEdits with an allow list is what a careful user runs.
    '  permission_mode: acceptEdits',
    `  allowed_tools: ${JSON.stringify(opts.tools ?? ['Read', 'Write', 'Edit'])}`,
    ...(opts.isolateConfig ? ['  isolate_config: true'] : []),
    'tasks:',
    ...tasks.flatMap((t) => [
      `  - id: ${t.id}`,
      `    prompt: Do ${t.id}.`,
      `    files: ${JSON.stringify(t.files)}`,
      `    depends_on: ${JSON.stringify(t.deps ?? [])}`,
      ...(t.check ? [`    check: ${JSON.stringify(t.check)}`] : []),
      ...(t.retries !== undefined ? [`    retries: ${t.retries}`] : []),
    ]),
  ].join('\n');
}

interface Ended {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;
}

interface Launched {
  readonly pid: number;
  readonly done: Promise<Ended>;
  kill(signal: NodeJS.Signals): void;
  /** Every event of the `--ui json` stream so far, parsed as it arrives. */
  readonly events: SwarmEvent[];
  waitForEvent<E extends SwarmEvent>(match: (e: SwarmEvent) => e is E): Promise<E>;
}

/** Starts `swarm run --ui json` in `repo` and parses its stdout line by line as it comes. */
function launch(repo: TempRepo, yaml: string | undefined, args: string[] = []): Launched {
  if (yaml !== undefined) {
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml);
    repo.git('add', 'swarm.yaml');
    repo.git('commit', '-q', '-m', 'swarm file');
  }
  const child = swarm(['run', 'swarm.yaml', '--ui', 'json', ...args], {
    cwd: repo.dir,
    env: claudeEnv(server, home),
  }) as unknown as ResultPromise;
  const events: SwarmEvent[] = [];
  const waiters: { match: (e: SwarmEvent) => boolean; resolve: (e: SwarmEvent) => void }[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as SwarmEvent;
      events.push(event);
      for (const w of [...waiters]) {
        if (!w.match(event)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  let exited = false;
  const done = child.then((r) => {
    exited = true;
    return { exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr) };
  });
  const pid = child.pid!;
  cleanups.push(async () => {
    // A failed test must not leave swarm (and its agents) running: SIGTERM stops it gracefully,
    // and whatever a killed runner left behind is found by its tag.
    if (!exited) child.kill('SIGTERM');
    await done;
    await reapOrphans(pid, { graceMs: 1000 });
  });
  return {
    pid,
    done,
    kill: (signal) => child.kill(signal),
    events,
    waitForEvent<E extends SwarmEvent>(match: (e: SwarmEvent) => e is E): Promise<E> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve: (e) => resolve(e as E) }));
    },
  };
}

type AgentEv<R extends string> = Extract<SwarmEvent, { type: 'agent'; reason: R }>;
const agentEvents = <R extends AgentEv<string>['reason']>(evs: SwarmEvent[], reason: R, task?: string) =>
  evs.filter((e): e is AgentEv<R> => e.type === 'agent' && e.reason === reason && (task === undefined || e.task === task));
const statesOf = (evs: SwarmEvent[], task: string) =>
  evs.filter((e): e is Extract<SwarmEvent, { type: 'task' }> => e.type === 'task' && e.task === task).map((e) => e.to);
const indexOf = (evs: SwarmEvent[], match: (e: SwarmEvent) => boolean) => evs.findIndex(match);

function expectSuccess(run: Ended, evs: SwarmEvent[]): void {
  const finished = evs.at(-1);
  expect(
    run.exitCode,
    `signal ${run.signal}\n${run.stderr}\n${JSON.stringify(
      evs.filter((e) => e.type === 'task' || e.type === 'log' || (e.type === 'agent' && e.reason === 'exited')),
      null,
      1,
    )}`,
  ).toBe(0);
  expect(finished).toMatchObject({ type: 'run', reason: 'finished', outcome: 'success' });
}

function worktreeOf(repo: TempRepo, task: string): string {
  return join(realpathSync(repo.dir), '.swarm', 'worktrees', RUN, task);
}

function show(repo: TempRepo, path: string): string | undefined {
  if (repo.git('ls-tree', '--name-only', `swarm/${RUN}`, '--', path) === '') return undefined;
  return repo.git('show', `swarm/${RUN}:${path}`);
}

/** `swarm status --json`: what a user sees of the run afterwards. */
async function status(repo: TempRepo): Promise<StatusJson> {
  const res = await swarm(['status', RUN, '--json'], { cwd: repo.dir });
  expect(res.exitCode, String(res.stderr)).toBe(0);
  return JSON.parse(String(res.stdout)) as StatusJson;
}

function newRepo(files?: Record<string, string>): TempRepo {
  const repo = tempRepo(files);
  cleanups.push(() => repo.cleanup());
  return repo;
}

// ------------------------------------------------------------------ the tests

describe('swarm run with the real claude', { timeout: 300_000 }, () => {
  it("runs three tasks, two depending on one: each edit lands on the integration branch, dependents see the first task's file", async () => {
    const repo = newRepo();
    const worktrees = new Map<string, string>();
    server.setScript(
      model({
        base: ({ worktree, step }) => {
          worktrees.set('base', worktree);
          return step === 0 ? write(worktree, 'lib/base/base.txt', 'BASE-V1\n') : reply('base written');
        },
        ...Object.fromEntries(
          ['left', 'right'].map((id) => [
            id,
            ({ worktree, step, req }: Ctx): Turn => {
              worktrees.set(id, worktree);
              // Read the dependency's file in this task's own worktree, then write what was seen.
              if (step === 0) return toolUse('Read', { file_path: join(worktree, 'lib/base/base.txt') });
              if (step === 1)
                return write(worktree, `lib/${id}/${id}.txt`, resultText(req).includes('BASE-V1') ? `${id} saw BASE-V1\n` : `${id} saw nothing\n`);
              return reply(`${id} written`);
            },
          ]),
        ),
      }),
    );

    const run = launch(
      repo,
      swarmYaml([
        { id: 'base', files: ['lib/base/**'] },
        { id: 'left', files: ['lib/left/**'], deps: ['base'] },
        { id: 'right', files: ['lib/right/**'], deps: ['base'] },
      ]),
    );
    const result = await run.done;
    const evs = run.events;
    expectSuccess(result, evs);

    // Claude worked where swarm put it: each task in its own worktree.
    for (const id of ['base', 'left', 'right']) expect(worktrees.get(id), id).toBe(worktreeOf(repo, id));
    expect(show(repo, 'lib/base/base.txt')).toBe('BASE-V1');
    expect(show(repo, 'lib/left/left.txt')).toBe('left saw BASE-V1');
    expect(show(repo, 'lib/right/right.txt')).toBe('right saw BASE-V1');

    // In order: base merged before either dependent started, and first on the integration branch.
    const merged = (id: string) => indexOf(evs, (e) => e.type === 'merge' && e.reason === 'merged' && e.task === id);
    const started = (id: string) => indexOf(evs, (e) => e.type === 'agent' && e.reason === 'spawned' && e.task === id);
    for (const id of ['left', 'right']) expect(started(id)).toBeGreaterThan(merged('base'));
    const log = repo.git('log', '--first-parent', '--reverse', '--format=%s', `swarm/${RUN}`).split('\n');
    const landed = log.map((s) => /^swarm\(([^)]+)\)/.exec(s)?.[1]).filter((id) => id !== undefined);
    expect(landed[0], log.join('\n')).toBe('base');
    expect(landed.slice(1).sort()).toEqual(['left', 'right']);

    // Claude's events reached the stream: its session, its tools (relative to the worktree), its exit.
    for (const id of ['base', 'left', 'right']) {
      expect(agentEvents(evs, 'session', id)).toHaveLength(1);
      expect(agentEvents(evs, 'exited', id)).toEqual([expect.objectContaining({ ok: true, exitCode: 0, message: `${id} written` })]);
    }
    expect(agentEvents(evs, 'tool', 'left').map((e) => e.summary)).toEqual(['Read lib/base/base.txt', 'Write lib/left/left.txt']);
    expect(server.unscripted).toBe(0);
    // The user's checkout stays on main, untouched.
    expect(repo.git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(existsSync(join(repo.dir, 'lib'))).toBe(false);
  });

  it("a write outside the task's globs is denied by the PreToolUse hook, the model reads why, nothing lands, the allowed work merges", async () => {
    const repo = newRepo();
    const denials: string[] = [];
    const errors: boolean[] = [];
    server.setScript(
      model({
        api: ({ worktree, step, req }) => {
          if (step > 1) {
            denials.push(resultText(req));
            errors.push(...toolResults(req).map((b) => b.is_error === true));
          }
          switch (step) {
            case 0:
              return write(worktree, 'api/handler.ts', 'export const handler = 1;\n');
            case 1:
              return write(worktree, 'web/evil.ts', 'export const evil = 1;\n');
            case 2:
              // Out of the worktree altogether: into the user's own checkout.
              return write(repo.dir, 'api/escape.ts', 'export const escape = 1;\n');
            default:
              return reply('api done; web/evil.ts belongs to someone else');
          }
        },
      }),
    );

    const run = launch(repo, swarmYaml([{ id: 'api', files: ['api/**'] }]), ['--keep-worktrees']);
    const result = await run.done;
    const evs = run.events;
    expectSuccess(result, evs);

    const worktree = worktreeOf(repo, 'api');
    // The model saw each refusal, with a reason it can act on, as an error tool result.
    expect(denials).toHaveLength(2);
    expect(errors).toEqual([true, true]);
    expect(denials[0]).toContain('web/evil.ts is not among the files task api owns');
    expect(denials[0]).toContain('You may edit only \\"api/**\\"');
    expect(denials[1]).toContain(`${join(realpathSync(repo.dir), 'api/escape.ts')} is outside this task's worktree`);

    // Nothing refused was written: not in the worktree, not in the checkout, not on the integration branch.
    expect(existsSync(join(worktree, 'web/evil.ts'))).toBe(false);
    expect(existsSync(join(repo.dir, 'api/escape.ts'))).toBe(false);
    expect(show(repo, 'web/evil.ts')).toBeUndefined();
    expect(show(repo, 'api/escape.ts')).toBeUndefined();
    // The allowed work did land.
    expect(readFileSync(join(worktree, 'api/handler.ts'), 'utf8')).toBe('export const handler = 1;\n');
    expect(show(repo, 'api/handler.ts')).toBe('export const handler = 1;');
    expect(agentEvents(evs, 'tool', 'api').map((e) => e.summary)).toEqual([
      'Write api/handler.ts',
      'Write web/evil.ts',
      `Write ${join(repo.dir, 'api/escape.ts')}`,
    ]);

    // The hook recorded each refusal in the run's state.
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      const violations = store
        .events(RUN, { task: 'api' })
        .map((s) => s.event)
        .filter((e) => e.type === 'lease' && e.reason === 'violation');
      expect(violations).toEqual([
        expect.objectContaining({ path: 'web/evil.ts', where: 'hook', blocked: true }),
        expect.objectContaining({ path: join(realpathSync(repo.dir), 'api/escape.ts'), where: 'hook', blocked: true }),
      ]);
    } finally {
      store.close();
    }
  });

  // The hook guards claude's file tools only; a shell command can still write anywhere. The
  // pre-commit guard reaches claude's Bash tool through the environment, and the audit before
  // the merge catches what was written without a commit.
  it("a Bash write outside the globs: the pre-commit guard refuses claude's commit, the audit fails the task, nothing lands", async () => {
    const repo = newRepo();
    let commitResult = '';
    server.setScript(
      model({
        api: ({ worktree, step, req }) => {
          if (step === 0) {
            return toolUse('Bash', {
              command: `cd "${worktree}" && mkdir -p api web && echo ok > api/ok.ts && echo sneaky > web/sneaky.ts && git add api web && git commit -q -m sneak; echo "commit exit $?"`,
              description: 'commit',
            });
          }
          commitResult = resultText(req);
          return reply('tried to commit');
        },
      }),
    );

    const run = launch(repo, swarmYaml([{ id: 'api', files: ['api/**'] }], { tools: ['Read', 'Write', 'Edit', 'Bash'] }));
    const result = await run.done;
    const evs = run.events;
    expect(result.exitCode, result.stderr).toBe(1);

    expect(commitResult).toContain('swarm: commit refused: task api staged files outside the globs it owns');
    expect(commitResult).toContain('web/sneaky.ts');
    expect(commitResult).toMatch(/commit exit [1-9]/);
    const failed = evs.filter((e): e is Extract<SwarmEvent, { type: 'task' }> => e.type === 'task' && e.task === 'api' && e.to === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail).toBe('changed files outside its globs: web/sneaky.ts');
    expect(evs).toContainEqual(
      expect.objectContaining({ type: 'lease', reason: 'violation', task: 'api', path: 'web/sneaky.ts', where: 'audit', blocked: true }),
    );
    expect(show(repo, 'web/sneaky.ts')).toBeUndefined();
    expect(show(repo, 'api/ok.ts')).toBeUndefined();
  });

  it("a failing check is retried by resuming the same claude session, with the check's output in the follow-up", async () => {
    const repo = newRepo();
    const check = 'cat fix/result.txt && grep -q green fix/result.txt';
    let followUp: RecordedRequest | undefined;
    server.setScript(
      model({
        fix: ({ worktree, step, req, last }) => {
          if (last.includes('did not pass the check')) {
            followUp = req;
            return write(worktree, 'fix/result.txt', 'green\n');
          }
          if (followUp !== undefined) return reply('fixed: green');
          return step === 0 ? write(worktree, 'fix/result.txt', 'red CHECK-SENTINEL-42\n') : reply('wrote red');
        },
      }),
    );

    // With isolate_config: the session lives in the task's own config dir, which both attempts share.
    const run = launch(repo, swarmYaml([{ id: 'fix', files: ['fix/**'], check, retries: 1 }], { isolateConfig: true }));
    const result = await run.done;
    const evs = run.events;
    expectSuccess(result, evs);
    expect(show(repo, 'fix/result.txt')).toBe('green');

    // The second claude resumed the first one's session.
    const spawned = agentEvents(evs, 'spawned', 'fix');
    const sessions = agentEvents(evs, 'session', 'fix');
    expect(spawned.map((e) => e.attempt)).toEqual([1, 2]);
    const sessionId = sessions[0]!.sessionId;
    expect(spawned[0]!.argv).not.toContain('--resume');
    expect(spawned[1]!.argv).toContain('--resume');
    expect(spawned[1]!.argv[spawned[1]!.argv.indexOf('--resume') + 1]).toBe(sessionId);
    expect(sessions.every((e) => e.sessionId === sessionId)).toBe(true);
    const configDir = join(repo.dir, '.swarm', 'logs', RUN, 'fix.claude');
    expect(readdirSync(join(configDir, 'projects'), { recursive: true }).map(String)).toContainEqual(expect.stringContaining(`${sessionId}.jsonl`));
    expect(
      existsSync(join(home, '.claude', 'projects')) &&
        readdirSync(join(home, '.claude', 'projects'), { recursive: true })
          .map(String)
          .some((f) => f.includes(sessionId)),
    ).toBe(false);

    // Its first request carries the earlier conversation, then the follow-up with the check's output.
    expect(followUp, 'the follow-up reached the model').toBeDefined();
    expect(server.mainRequests()[2]).toBe(followUp);
    const seen = messagesText(followUp!);
    expect(seen).toContain('You are the agent for task "fix"');
    expect(seen).toContain('wrote red');
    const lastText = lastMessageText(followUp!);
    expect(lastText).toContain(`The check \`${check}\` failed`);
    expect(lastText).toContain('red CHECK-SENTINEL-42');
    // Only the follow-up, not the whole task again: the session already has it.
    expect(lastText).not.toContain('You are the agent for task');

    const checks = evs.filter((e): e is Extract<SwarmEvent, { type: 'check'; reason: 'passed' | 'failed' }> => e.type === 'check' && e.reason !== 'started');
    expect(checks.map((e) => `${e.attempt}:${e.reason}`)).toEqual(['1:failed', '2:passed']);
    expect(statesOf(evs, 'fix')).toEqual(['ready', 'starting', 'running', 'checking', 'running', 'checking', 'queued', 'merging', 'merged']);

    // Both attempts' cost and turns add up in the task's row.
    const exited = agentEvents(evs, 'exited', 'fix');
    expect(exited.map((e) => e.turns)).toEqual([2, 2]);
    const fix = (await status(repo)).tasks.find((t) => t.id === 'fix')!;
    expect(fix).toMatchObject({ state: 'merged', attempts: 2, turns: 4, sessionId });
    expect(fix.costUsd).toBeCloseTo(
      exited.reduce((sum, e) => sum + (e.costUsd ?? 0), 0),
      10,
    );
    expect(fix.history.map((h) => [h.attempt, h.outcome, h.turns])).toEqual([
      [1, 'check-failed', 2],
      [2, 'ok', 2],
    ]);
  });

  it("a 429 shows up as an api-retry event and lowers concurrency; cost and turns from claude's result reach swarm status", async () => {
    const repo = newRepo();
    let limited = false;
    server.setScript(
      model({
        limited: ({ worktree, step }) => {
          if (!limited) {
            limited = true;
            return apiError(429, 0, 'rate limited by the test');
          }
          return step === 0 ? write(worktree, 'lim/a.txt', 'a\n') : reply('limited done');
        },
      }),
    );

    const run = launch(repo, swarmYaml([{ id: 'limited', files: ['lim/**'] }], { concurrency: 2 }));
    const result = await run.done;
    const evs = run.events;
    expectSuccess(result, evs);
    expect(show(repo, 'lim/a.txt')).toBe('a');

    const retries = agentEvents(evs, 'api-retry', 'limited');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ retryAttempt: 1 });
    expect(retries[0]!.error).toContain('429');
    const retryAt = evs.indexOf(retries[0]!);
    const lowered = evs.findIndex((e) => e.type === 'limit' && e.reason === 'lowered');
    expect(lowered).toBeGreaterThan(retryAt);
    expect(evs[lowered]).toMatchObject({ type: 'limit', reason: 'lowered', concurrency: 1, max: 2 });

    // Claude's result: two answered turns (the 429 is not one), and a cost from the usage we sent.
    const exited = agentEvents(evs, 'exited', 'limited');
    expect(exited).toHaveLength(1);
    const { costUsd, turns } = exited[0]!;
    expect(turns).toBe(2);
    expect(costUsd).toBeGreaterThan(0);
    expect(evs.at(-1)).toMatchObject({ type: 'run', reason: 'finished', costUsd });

    const seen = await status(repo);
    expect(seen.run).toMatchObject({ name: RUN, status: 'finished', costUsd });
    const task = seen.tasks.find((t) => t.id === 'limited')!;
    expect(task).toMatchObject({ state: 'merged', attempts: 1, turns: 2, costUsd });
    expect(task.sessionId).toBe(agentEvents(evs, 'session', 'limited')[0]!.sessionId);
    expect(task.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'ok', turns: 2, costUsd })]);
  });

  it('a claude killed mid-run (SIGKILL of its process group) is a failed attempt, retried, and the run succeeds', async () => {
    const repo = newRepo();
    const node = process.execPath;
    // The Bash tool tells the test its shell's pid, then sleeps: claude is mid-run, waiting on its tool.
    const command = `"${node}" -e "fetch('${server.url}/test/crash-started?pid=' + process.ppid).then(() => {}, () => {})"; sleep 300`;
    let resumed: RecordedRequest | undefined;
    server.setScript(
      model({
        crash: ({ worktree, req, last }) => {
          if (last.includes('Your previous attempt failed')) {
            resumed = req;
            return write(worktree, 'crash/done.txt', 'done\n');
          }
          if (resumed !== undefined) return reply('recovered');
          return toolUse('Bash', { command, description: 'long job', timeout: 600_000 });
        },
      }),
    );

    const run = launch(repo, swarmYaml([{ id: 'crash', files: ['crash/**'], retries: 1 }], { tools: ['Read', 'Write', 'Edit', 'Bash'] }));
    const started = await Promise.race([
      server.waitFor((r) => r.path === '/test/crash-started'),
      run.done.then((r) => {
        throw new Error(`swarm ended before the Bash tool ran: ${r.stderr}`);
      }),
    ]);
    const shellPid = Number(new URL(started.url, server.url).searchParams.get('pid'));
    const spawned = await run.waitForEvent((e): e is AgentEv<'spawned'> => e.type === 'agent' && e.reason === 'spawned' && e.task === 'crash');
    expect(spawned.attempt).toBe(1);
    process.kill(-spawned.pid, 'SIGKILL');

    const result = await run.done;
    const evs = run.events;
    expectSuccess(result, evs);
    expect(show(repo, 'crash/done.txt')).toBe('done');

    const exited = agentEvents(evs, 'exited', 'crash');
    expect(exited.map((e) => [e.attempt, e.ok, e.signal])).toEqual([
      [1, false, 'SIGKILL'],
      [2, true, null],
    ]);
    expect(statesOf(evs, 'crash')).toEqual(['ready', 'starting', 'running', 'running', 'queued', 'merging', 'merged']);
    // The killed claude's Bash child was in a session of its own; it is gone too.
    const stat = readStat(shellPid);
    expect(stat === undefined || stat.state === 'Z', `shell ${shellPid} is gone`).toBe(true);

    // The retry resumed the killed session: the model saw the task from the first attempt and
    // why that attempt failed. (Claude drops the tool call that never got a result, and
    // adds its own "Continue from where you left off." to the interrupted session.)
    const spawns = agentEvents(evs, 'spawned', 'crash');
    const sessionId = agentEvents(evs, 'session', 'crash')[0]!.sessionId;
    expect(spawns[1]!.argv[spawns[1]!.argv.indexOf('--resume') + 1]).toBe(sessionId);
    expect(resumed, 'the retry reached the model').toBeDefined();
    expect(messagesText(resumed!)).toContain('You are the agent for task "crash"');
    const lastText = lastMessageText(resumed!);
    expect(lastText).toContain('killed by SIGKILL');
    expect(lastText).not.toContain('You are the agent for task');

    const crash = (await status(repo)).tasks.find((t) => t.id === 'crash')!;
    expect(crash).toMatchObject({ state: 'merged', attempts: 2 });
    expect(crash.history.map((h) => h.outcome)).toEqual(['exit', 'ok']);
    expect(crash.history[0]!.detail).toContain('SIGKILL');
  });
  it('a runner killed mid-run: the next swarm run stops the orphaned claude, commits its work and resumes its session', async () => {
    const repo = newRepo();
    const node = process.execPath;
    const command = `"${node}" -e "fetch('${server.url}/test/long-started?pid=' + process.ppid).then(() => {}, () => {})"; sleep 300`;
    let resumed: RecordedRequest | undefined;
    server.setScript(
      model({
        long: ({ worktree, step, req, last }) => {
          if (last.includes('You were interrupted')) {
            resumed = req;
            return write(worktree, 'long/part2.txt', 'part2\n');
          }
          if (resumed !== undefined) return reply('finished after the restart');
          return step === 0 ? write(worktree, 'long/part1.txt', 'part1\n') : toolUse('Bash', { command, description: 'long job', timeout: 600_000 });
        },
      }),
    );
    const yaml = swarmYaml([{ id: 'long', files: ['long/**'] }], { tools: ['Read', 'Write', 'Edit', 'Bash'] });

    const first = launch(repo, yaml);
    const started = await Promise.race([
      server.waitFor((r) => r.path === '/test/long-started'),
      first.done.then((r) => {
        throw new Error(`swarm ended before the Bash tool ran: ${r.stderr}`);
      }),
    ]);
    const shellPid = Number(new URL(started.url, server.url).searchParams.get('pid'));
    const spawned = await first.waitForEvent((e): e is AgentEv<'spawned'> => e.type === 'agent' && e.reason === 'spawned');
    const sessionId = (await first.waitForEvent((e): e is AgentEv<'session'> => e.type === 'agent' && e.reason === 'session')).sessionId;
    // The runner dies; claude, detached in its own group, lives on as an orphan.
    first.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    expect(readStat(spawned.pid)?.state).not.toBe('Z');

    const second = launch(repo, undefined);
    const result = await second.done;
    const evs = second.events;
    expectSuccess(result, evs);

    // The orphan and its Bash child were stopped before the task went on.
    for (const pid of [spawned.pid, shellPid]) {
      const stat = readStat(pid);
      expect(stat === undefined || stat.state === 'Z', `pid ${pid} is gone`).toBe(true);
    }
    const logs = evs.filter((e): e is Extract<SwarmEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
    expect(
      logs.some((m) => /stopped \d+ agent process/.test(m)),
      logs.join('\n'),
    ).toBe(true);
    expect(
      logs.some((m) => m.includes('task long: committed what its interrupted agent left')),
      logs.join('\n'),
    ).toBe(true);

    // The second claude resumed the first one's session, told it was interrupted.
    const respawned = agentEvents(evs, 'spawned', 'long');
    expect(respawned).toHaveLength(1);
    expect(respawned[0]!.argv[respawned[0]!.argv.indexOf('--resume') + 1]).toBe(sessionId);
    expect(resumed, 'the resumed session reached the model').toBeDefined();
    expect(messagesText(resumed!)).toContain('You are the agent for task "long"');
    expect(show(repo, 'long/part1.txt')).toBe('part1');
    expect(show(repo, 'long/part2.txt')).toBe('part2');
    expect((await status(repo)).tasks.find((t) => t.id === 'long')).toMatchObject({ state: 'merged', attempts: 2, sessionId });
  });
});
