/**
 * The REAL Claude Code CLI (node_modules/.bin/claude 2.1.110) under `swarm run`, against
 * the scripted model server: tool calls claude refuses (shown with the allowed_tools entry
 * that would allow them), a login the API refuses (the run stops resumable after one
 * failure, not after every task's retries), and the warning before many agents share one
 * subscription login.
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
  apiError,
  claudeEnv,
  messagesText,
  reply,
  startModelServer,
  toolUse,
  type ModelServer,
  type RecordedRequest,
  type Turn,
} from '../helpers/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const RUN = 'auth';

let server: ModelServer;
let home: string;
const repos: TempRepo[] = [];

beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-e2e-auth-home-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});
afterEach(() => {
  for (const r of repos.splice(0)) r.cleanup();
});

/** Each task's agent writes `<task>/done.txt` in its worktree, then says done. */
function writer(req: RecordedRequest): Turn {
  const text = messagesText(req);
  const task = /You are the agent for task "([^"]+)"/.exec(text)?.[1] ?? 'unknown';
  const system = JSON.stringify(req.body?.system ?? '');
  const worktree = /Primary working directory: ([^\\]+)/.exec(system)?.[1]?.trim() ?? '/nonexistent';
  const answered = (req.body?.messages ?? []).some((m) => typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_result'));
  return answered ? reply(`${task} done`) : toolUse('Write', { file_path: join(worktree, task, 'done.txt'), content: `${task}\n` });
}

function setup(ids: string[], concurrency: number, retries = 0): TempRepo {
  const repo = tempRepo({ 'README.md': '# test\n' });
  repos.push(repo);
  const yaml = [
    'version: 1',
    `name: ${RUN}`,
    `concurrency: ${concurrency}`,
    `retries: ${retries}`,
    'timeout: 5m',
    'agent:',
    '  kind: claude',
    `  bin: ${JSON.stringify(CLAUDE)}`,
    '  permission_mode: acceptEdits',
    '  allowed_tools: [Read, Write, Edit]',
    'tasks:',
    ...ids.flatMap((id) => [`  - id: ${id}`, `    prompt: Do ${id}.`, `    files: ["${id}/**"]`]),
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

async function run(repo: TempRepo, ui: 'json' | 'plain', env: Record<string, string | undefined>, args: string[] = []): Promise<Ran> {
  const res = await swarm(['run', 'swarm.yaml', '--ui', ui, ...args], { cwd: repo.dir, env: env as Record<string, string> });
  const stdout = String(res.stdout);
  const events =
    ui === 'json'
      ? stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as SwarmEvent)
      : [];
  return { exitCode: res.exitCode, stdout, stderr: String(res.stderr), events };
}

async function status(repo: TempRepo): Promise<StatusJson> {
  const res = await swarm(['status', RUN, '--json'], { cwd: repo.dir });
  expect(res.exitCode, String(res.stderr)).toBe(0);
  return JSON.parse(String(res.stdout)) as StatusJson;
}

const show = (repo: TempRepo, path: string): string => repo.git('show', `swarm/${RUN}:${path}`);
const warnings = (evs: SwarmEvent[]) => evs.flatMap((e) => (e.type === 'log' && e.reason === 'warning' ? [e.message] : []));
const spawns = (evs: SwarmEvent[]) => evs.filter((e) => e.type === 'agent' && e.reason === 'spawned');
/** Like the user's shell with no key: claudeEnv without ANTHROPIC_API_KEY (undefined removes it). */
const noKeyEnv = (): Record<string, string | undefined> => ({
  ...claudeEnv(server, home),
  ANTHROPIC_API_KEY: undefined,
  CLAUDE_CODE_OAUTH_TOKEN: undefined,
  ANTHROPIC_AUTH_TOKEN: undefined,
});

describe('swarm run with the real claude: refusals and logins', { timeout: 300_000 }, () => {
  it('a Bash call refused under acceptEdits: a denied event with the hint, in --ui json, plain output, swarm status and swarm logs', async () => {
    const repo = setup(['tests'], 1);
    const script = (req: RecordedRequest): Turn => {
      const results = (req.body?.messages ?? []).flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((b) => b.type === 'tool_result')));
      if (results.length === 0) return toolUse('Bash', { command: 'npm test 2>&1 | tail -5', description: 'run the tests' });
      if (results.length === 1) return writer({ ...req, body: { ...req.body, messages: [req.body!.messages![0]!] } });
      return reply('done, tests not run');
    };
    server.setScript(script);
    const json = await run(repo, 'json', claudeEnv(server, home));
    expect(json.exitCode, json.stderr).toBe(0);
    expect(show(repo, 'tests/done.txt')).toBe('tests');
    const denied = json.events.filter((e) => e.type === 'agent' && e.reason === 'denied');
    expect(denied).toEqual([
      expect.objectContaining({
        type: 'agent',
        reason: 'denied',
        task: 'tests',
        attempt: 1,
        tool: 'Bash',
        summary: 'Bash npm test 2>&1 | tail -5',
        suggestion: 'Bash(npm test:*)',
      }),
    ]);

    const seen = await status(repo);
    expect(seen.tasks[0]!.denied).toEqual([{ attempt: 1, tool: 'Bash', summary: 'Bash npm test 2>&1 | tail -5', suggestion: 'Bash(npm test:*)' }]);
    const text = await swarm(['status', RUN], { cwd: repo.dir });
    expect(String(text.stdout)).toContain('  tests: Bash npm test 2>&1 | tail -5 -> Bash(npm test:*)');
    const logs = await swarm(['logs', 'tests', '--run', RUN], { cwd: repo.dir });
    expect(String(logs.stdout), String(logs.stderr)).toContain(
      '⚠ refused by Claude Code: Bash npm test 2>&1 | tail -5 (allow it with agent.allowed_tools: Bash(npm test:*))',
    );

    server.setScript(script);
    const plain = await run(repo, 'plain', claudeEnv(server, home), ['--fresh']);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(
      /\] tests +refused by Claude Code: Bash npm test 2>&1 \| tail -5 \(allow it with agent\.allowed_tools: Bash\(npm test:\*\)\)\n/,
    );
  });

  it('three tasks at once, the API answers 401: one auth message, no retry spent, none failed, exit 130; the next run resumes and merges all', async () => {
    const repo = setup(['a', 'b', 'c'], 3, 2);
    server.setScript(() => apiError(401, undefined, 'invalid x-api-key'));
    const first = await run(repo, 'json', claudeEnv(server, home));
    expect(first.exitCode, first.stderr).toBe(130);
    const authWarnings = warnings(first.events).filter((m) => m.includes('could not authenticate'));
    expect(authWarnings).toHaveLength(1);
    expect(authWarnings[0]).toContain('claude setup-token');
    expect(authWarnings[0]).toContain('ANTHROPIC_API_KEY');
    // No task's retries were spent: one agent per task at most (all three start at once unless
    // the machine is slow), each on its first attempt.
    const spawned = spawns(first.events).map((e) => (e.type === 'agent' ? `${e.task}:${e.attempt}` : ''));
    expect(spawned.length).toBeGreaterThanOrEqual(1);
    expect(new Set(spawned).size).toBe(spawned.length);
    expect(spawned.every((s) => /^[abc]:1$/.test(s))).toBe(true);
    // Claude's own 401 backoff (10 retries, minutes) is cut short: its first request and one retry per agent.
    expect(server.mainRequests().length).toBeLessThanOrEqual(2 * spawned.length);
    // A 401 is no rate limit: concurrency stays as it was.
    expect(first.events.filter((e) => e.type === 'limit' || (e.type === 'agent' && e.reason === 'api-retry'))).toEqual([]);
    expect(first.events.some((e) => e.type === 'task' && e.to === 'failed')).toBe(false);
    expect(first.events.at(-1)).toMatchObject({ type: 'run', reason: 'finished', outcome: 'cancelled', merged: 0 });
    const stopped = await status(repo);
    expect(stopped.run.status).toBe('cancelled');
    for (const t of stopped.tasks.filter((t) => t.attempts > 0)) {
      expect(t).toMatchObject({ state: 'cancelled', attempts: 1 });
      expect(t.detail).toContain('claude could not authenticate');
    }
    expect(stopped.tasks.filter((t) => t.attempts === 0).every((t) => t.state !== 'failed')).toBe(true);

    server.setScript(writer);
    const second = await run(repo, 'json', claudeEnv(server, home));
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.events[0]).toMatchObject({ type: 'run', reason: 'started', resumed: true });
    for (const id of ['a', 'b', 'c']) expect(show(repo, `${id}/done.txt`)).toBe(id);
    // An API key is set here: no shared-login warning.
    expect(warnings(second.events).filter((m) => m.includes('subscription login'))).toEqual([]);
  });

  it('two claude tasks at concurrency 2 with no key: the shared-login warning, and the missing login stops the run resumable', async () => {
    const repo = setup(['x', 'y'], 2);
    server.setScript(writer);
    const res = await run(repo, 'json', noKeyEnv());
    const shared = warnings(res.events).filter((m) => m.includes('subscription login'));
    expect(shared).toHaveLength(1);
    expect(shared[0]).toContain('claude setup-token');
    expect(shared[0]).toContain('CLAUDE_CODE_OAUTH_TOKEN');
    expect(shared[0]).toContain('isolate_config');
    // No login at all: claude answers "Not logged in" without calling the API.
    expect(server.mainRequests()).toHaveLength(0);
    expect(res.exitCode, res.stderr).toBe(130);
    expect(warnings(res.events).filter((m) => m.includes('could not authenticate'))).toEqual([expect.stringContaining('Not logged in')]);
    expect(res.events.some((e) => e.type === 'task' && e.to === 'failed')).toBe(false);

    // With ANTHROPIC_API_KEY set: no warning, and the run resumes and merges both.
    const withKey = await run(repo, 'json', claudeEnv(server, home));
    expect(withKey.exitCode, withKey.stderr).toBe(0);
    expect(warnings(withKey.events)).toEqual([]);
    expect(show(repo, 'x/done.txt')).toBe('x');
    expect(show(repo, 'y/done.txt')).toBe('y');
  });
});
