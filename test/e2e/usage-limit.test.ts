/**
 * The REAL Claude Code CLI (node_modules/.bin/claude 2.1.110) under `swarm run`, logged in
 * as a subscriber (a fake CLAUDE_CODE_OAUTH_TOKEN), against the scripted model server that
 * answers with the account's usage limit (429 + `anthropic-ratelimit-unified-status:
 * rejected`) in the middle of a task. Within `limits.max_wait` the run waits for the reset
 * and the task's session goes on; with the default `max_wait` (0s) the run stops, resumable,
 * with exit 75 and the time to come back. Nothing is counted as a failure either way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusJson } from '../../src/cli/commands/status.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import {
  messagesText,
  oauthEnv,
  reply,
  startModelServer,
  toolResults,
  toolUse,
  usageLimited,
  type ModelServer,
  type RecordedRequest,
  type Turn,
} from '../helpers/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const RUN = 'usage';

let server: ModelServer;
let home: string;
const repos: TempRepo[] = [];

beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-e2e-usage-home-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});
afterEach(() => {
  for (const r of repos.splice(0)) r.cleanup();
});

interface TaskDef {
  readonly id: string;
  readonly dependsOn?: readonly string[];
}

function setup(tasks: readonly TaskDef[], concurrency: number, extra: readonly string[] = []): TempRepo {
  const repo = tempRepo({ 'README.md': '# test\n' });
  repos.push(repo);
  const yaml = [
    'version: 1',
    `name: ${RUN}`,
    `concurrency: ${concurrency}`,
    // No retry to spend: a usage limit counted as a failure would fail the task.
    'retries: 0',
    'timeout: 5m',
    ...extra,
    'agent:',
    '  kind: claude',
    `  bin: ${JSON.stringify(CLAUDE)}`,
    '  sandbox: off',
    '  permission_mode: acceptEdits',
    '  allowed_tools: [Read, Write, Edit]',
    'tasks:',
    ...tasks.flatMap((t) => [
      `  - id: ${t.id}`,
      `    prompt: Do ${t.id}.`,
      `    files: ["${t.id}/**"]`,
      ...(t.dependsOn ? [`    depends_on: [${t.dependsOn.join(', ')}]`] : []),
    ]),
  ].join('\n');
  writeFileSync(join(repo.dir, 'swarm.yaml'), yaml);
  repo.git('add', 'swarm.yaml');
  repo.git('commit', '-q', '-m', 'swarm file');
  return repo;
}

interface Ran {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: SwarmEvent[];
}

async function run(repo: TempRepo, env: Record<string, string | undefined>): Promise<Ran> {
  const res = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env: env as Record<string, string> });
  const stdout = String(res.stdout);
  const events = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SwarmEvent);
  return { exitCode: res.exitCode, stdout, stderr: String(res.stderr), events };
}

async function status(repo: TempRepo): Promise<StatusJson> {
  const res = await swarm(['status', RUN, '--json'], { cwd: repo.dir });
  expect(res.exitCode, String(res.stderr)).toBe(0);
  return JSON.parse(String(res.stdout)) as StatusJson;
}

const taskOf = (req: RecordedRequest): string => /You are the agent for task "([^"]+)"/.exec(messagesText(req))?.[1] ?? 'unknown';
const worktreeOf = (req: RecordedRequest): string =>
  /Primary working directory: ([^\\]+)/.exec(JSON.stringify(req.body?.system ?? ''))?.[1]?.trim() ?? '/nonexistent';
const spawnsOf = (evs: SwarmEvent[], task: string) => evs.filter((e) => e.type === 'agent' && e.reason === 'spawned' && e.task === task);
const show = (repo: TempRepo, path: string): string => repo.git('show', `swarm/${RUN}:${path}`);
const hhmm = (at: number): string => `${String(new Date(at).getHours()).padStart(2, '0')}:${String(new Date(at).getMinutes()).padStart(2, '0')}`;

describe('swarm run with the real claude: the usage limit', { timeout: 300_000 }, () => {
  it('within limits.max_wait: no new task starts, the run waits for the reset, the same attempt resumes its session, nothing failed', async () => {
    // a writes its first file, then hits the limit; b reads until then, writes its file and
    // merges during the wait, so c is ready and a slot is free while the run waits: c must not
    // start before the reset.
    const repo = setup([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['b'] }], 2, ['limits:', '  max_wait: 1m']);
    let resetsAt = 0;
    server.setScript((req): Turn => {
      const task = taskOf(req);
      if (task === 'b' && resetsAt === 0) return toolUse('Read', { file_path: join(worktreeOf(req), 'README.md') });
      if (task !== 'a') {
        if (messagesText(req).includes(`${task}/done.txt`)) return reply(`${task} done`);
        return toolUse('Write', { file_path: join(worktreeOf(req), task, 'done.txt'), content: `${task}\n` });
      }
      const results = (req.body?.messages ?? []).flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((b) => b.type === 'tool_result')));
      if (results.length === 0) return toolUse('Write', { file_path: join(worktreeOf(req), 'a', 'one.txt'), content: 'one\n' });
      if (resetsAt === 0) resetsAt = Date.now() + 8000;
      if (Date.now() < resetsAt) return usageLimited(resetsAt);
      if (!messagesText(req).includes('two.txt')) return toolUse('Write', { file_path: join(worktreeOf(req), 'a', 'two.txt'), content: 'two\n' });
      return reply('a done');
    });

    const res = await run(repo, oauthEnv(server, home));
    expect(res.exitCode, res.stderr).toBe(0);
    for (const [path, content] of [
      ['a/one.txt', 'one'],
      ['a/two.txt', 'two'],
      ['b/done.txt', 'b'],
      ['c/done.txt', 'c'],
    ] as const) {
      expect(show(repo, path)).toBe(content);
    }

    // The limit was seen as one, with claude's reset time (whole seconds), and waited out.
    const usage = res.events.filter((e) => e.type === 'usage');
    expect(usage.map((e) => e.reason)).toEqual(['waiting', 'reset']);
    const waiting = usage[0] as Extract<SwarmEvent, { type: 'usage'; reason: 'waiting' }>;
    expect(waiting).toMatchObject({ task: 'a', resetsAt: Math.ceil(resetsAt / 1000) * 1000 });
    const waitedFrom = res.events.indexOf(waiting);
    const resetAt = res.events.indexOf(usage[1]!);
    expect(usage[1]!.at).toBeGreaterThanOrEqual(waiting.resetsAt);

    // No agent started while the run waited; c started only after the reset.
    const spawnedDuringWait = res.events.slice(waitedFrom, resetAt).filter((e) => e.type === 'agent' && e.reason === 'spawned');
    expect(spawnedDuringWait).toEqual([]);
    expect(res.events.indexOf(spawnsOf(res.events, 'c')[0]!)).toBeGreaterThan(resetAt);
    expect(res.events.findIndex((e) => e.type === 'merge' && e.reason === 'merged' && e.task === 'b')).toBeLessThan(resetAt);

    // a: two agent processes in one attempt; the second resumed the first's session, told why.
    const aSpawns = spawnsOf(res.events, 'a') as Extract<SwarmEvent, { type: 'agent'; reason: 'spawned' }>[];
    expect(aSpawns.map((e) => e.attempt)).toEqual([1, 1]);
    const session = res.events.find((e) => e.type === 'agent' && e.reason === 'session' && e.task === 'a') as { sessionId: string } | undefined;
    expect(aSpawns[1]!.argv).toContain('--resume');
    expect(aSpawns[1]!.argv).toContain(session?.sessionId);
    const resumed = server.mainRequests().filter((r) => taskOf(r) === 'a' && messagesText(r).includes('The usage limit has reset'));
    expect(resumed.length).toBeGreaterThan(0);
    expect(messagesText(resumed[0]!)).toContain('one.txt');

    // Nothing counted as a failure: no failed state, one attempt each, all merged.
    expect(res.events.filter((e) => e.type === 'task' && (e.to === 'failed' || e.to === 'cancelled'))).toEqual([]);
    const st = await status(repo);
    expect(st.tasks.map((t) => [t.id, t.state, t.attempts])).toEqual([
      ['a', 'merged', 1],
      ['b', 'merged', 1],
      ['c', 'merged', 1],
    ]);
  });

  it('with the default max_wait (0s): the run stops resumable with exit 75 and when to run again; the next run finishes the task', async () => {
    const repo = setup([{ id: 'a' }, { id: 'b' }], 1);
    // 2h13m and a half from now: the message rounds to the minute the way formatDuration does.
    const resetsAt = Date.now() + (2 * 3600 + 13 * 60 + 30) * 1000;
    server.setScript((req): Turn => {
      const task = taskOf(req);
      if (toolResults(req).length === 0) return toolUse('Write', { file_path: join(worktreeOf(req), task, 'done.txt'), content: `${task}\n` });
      return usageLimited(resetsAt);
    });
    const stopped = await run(repo, oauthEnv(server, home));
    const reset = Math.ceil(resetsAt / 1000) * 1000;
    const message = `usage limit reached; it resets at ${hhmm(reset)} (in 2h13m): run again then`;
    expect(stopped.exitCode, stopped.stderr).toBe(75);
    expect(stopped.stderr).toContain(`swarm run: ${message}`);
    expect(stopped.events.filter((e) => e.type === 'usage')).toEqual([expect.objectContaining({ reason: 'stopped', task: 'a', resetsAt: reset, message })]);
    expect(stopped.events.at(-1)).toMatchObject({ type: 'run', reason: 'finished', outcome: 'usage-limit', merged: 0 });
    // One agent only: b never started, a was not retried.
    expect(stopped.events.filter((e) => e.type === 'agent' && e.reason === 'spawned').map((e) => (e as { task: string }).task)).toEqual(['a']);
    const st = await status(repo);
    expect(st.run.status).toBe('cancelled');
    expect(st.tasks.map((t) => [t.id, t.state])).toEqual([
      ['a', 'cancelled'],
      // Never started: it had waited for the one slot.
      ['b', 'ready'],
    ]);
    expect(st.tasks.find((t) => t.id === 'a')?.attempts).toBe(1);

    // After the reset: the run resumes; a's work (committed when it stopped) is on its branch.
    server.setScript((req): Turn => {
      const task = taskOf(req);
      if (toolResults(req).length > 0 || messagesText(req).includes(`${task}/done.txt`)) return reply(`${task} done`);
      return toolUse('Write', { file_path: join(worktreeOf(req), task, 'done.txt'), content: `${task}\n` });
    });
    const again = await run(repo, oauthEnv(server, home));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(show(repo, 'a/done.txt')).toBe('a');
    expect(show(repo, 'b/done.txt')).toBe('b');
  });
});
