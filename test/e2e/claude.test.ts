/**
 * `swarm run` driving the REAL Claude Code CLI (node_modules/.bin/claude) end to end:
 * the built CLI, a real temp git repository, real worktrees, our PreToolUse hook and the
 * scripted model server standing in for the Anthropic API.
 *
 * The model server answers with one function of the request: it finds the task in the
 * prompt ("You are the agent for task ...") and the worktree in the system prompt's
 * environment section ("Primary working directory: ..."), exactly what a real model sees,
 * and writes with absolute paths inside that worktree. A claude start costs ~2.5 s of CPU,
 * so each test starts as few as it can.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readStat } from '../../src/agents/process.js';
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
    const lastMessage = messages[messages.length - 1];
    const last = lastMessage === undefined ? '' : messagesText({ ...req, body: { messages: [lastMessage] } });
    try {
      return handler({ req, task, worktree, step, last });
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

const write = (worktree: string, path: string, content: string): Turn => toolUse('Write', { file_path: join(worktree, path), content });
const resultText = (req: RecordedRequest): string => toolResults(req).map((b) => JSON.stringify(b.content)).join('\n');

// ------------------------------------------------------------------ running swarm

interface TaskDef {
  id: string;
  files: string[];
  deps?: string[];
  check?: string;
  retries?: number;
}

function swarmYaml(tasks: TaskDef[], opts: { concurrency?: number; tools?: string[] } = {}): string {
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

interface Launched {
  readonly done: Promise<{ exitCode: number | undefined; stderr: string }>;
  /** Every event of the `--ui json` stream so far, parsed as it arrives. */
  readonly events: SwarmEvent[];
  waitForEvent<E extends SwarmEvent>(match: (e: SwarmEvent) => e is E): Promise<E>;
}

/** Starts `swarm run --ui json` in `repo` and parses its stdout line by line as it comes. */
function launch(repo: TempRepo, yaml: string, args: string[] = []): Launched {
  writeFileSync(join(repo.dir, 'swarm.yaml'), yaml);
  repo.git('add', 'swarm.yaml');
  repo.git('commit', '-q', '-m', 'swarm file');
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
    return { exitCode: r.exitCode, stderr: String(r.stderr) };
  });
  cleanups.push(async () => {
    // A failed test must not leave swarm (and its agents) running: SIGTERM stops it gracefully.
    if (!exited) child.kill('SIGTERM');
    await done;
  });
  return {
    done,
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

function expectSuccess(run: { exitCode: number | undefined; stderr: string }, evs: SwarmEvent[]): void {
  const finished = evs.at(-1);
  expect(run.exitCode, `${run.stderr}\n${JSON.stringify(evs.filter((e) => e.type === 'task' || e.type === 'log' || (e.type === 'agent' && e.reason === 'exited')), null, 1)}`).toBe(0);
  expect(finished).toMatchObject({ type: 'run', reason: 'finished', outcome: 'success' });
}

function worktreeOf(repo: TempRepo, task: string): string {
  return join(realpathSync(repo.dir), '.swarm', 'worktrees', RUN, task);
}

function show(repo: TempRepo, path: string): string | undefined {
  try {
    return repo.git('show', `swarm/${RUN}:${path}`);
  } catch {
    return undefined;
  }
}

function newRepo(files?: Record<string, string>): TempRepo {
  const repo = tempRepo(files);
  cleanups.push(() => repo.cleanup());
  return repo;
}

// ------------------------------------------------------------------ the tests

describe('swarm run with the real claude', { timeout: 300_000 }, () => {
  it('runs three tasks, two depending on one: each edit lands on the integration branch, dependents see the first task\'s file', async () => {
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
              if (step === 1) return write(worktree, `lib/${id}/${id}.txt`, resultText(req).includes('BASE-V1') ? `${id} saw BASE-V1\n` : `${id} saw nothing\n`);
              return reply(`${id} written`);
            },
          ]),
        ),
      }),
    );

    const run = launch(repo, swarmYaml([
      { id: 'base', files: ['lib/base/**'] },
      { id: 'left', files: ['lib/left/**'], deps: ['base'] },
      { id: 'right', files: ['lib/right/**'], deps: ['base'] },
    ]));
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
});
