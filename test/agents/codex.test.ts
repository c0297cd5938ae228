/**
 * The codex runner driving the REAL `codex` binary (node_modules/.bin/codex, 0.169.0)
 * against the scripted Responses API, in a temp git repository.
 *
 * What the real CLI needs to run headless in a fresh HOME: a CODEX_HOME that exists, a
 * model provider of its own given with `-c` (it ignores OPENAI_BASE_URL for the built-in
 * provider and would try api.openai.com), and the key in the variable that provider
 * names. With that it calls nothing but the stand-in.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { codexArgs, CodexRunner, isolatedCodexHome } from '../../src/agents/codex.js';
import type { AgentInput, AgentOutput } from '../../src/engine/ports.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import { CODEX_BIN, codexEnv, codexProviderArgs, codexUsageLimit, ResponsesServer, type ResponsesTurn } from '../helpers/responses-server.js';
import { agentInput, agentSpec } from './input.js';

let home: string;
let repo: TempRepo;
let server: ResponsesServer | undefined;
const runner = new CodexRunner({ graceMs: 2000 });

beforeAll(() => {
  // Not under the temp dir: codex refuses to make its sandbox helper there, and with bubblewrap
  // installed its commands then fail ("bwrap: execvp codex-linux-sandbox").
  home = mkdtempSync(join(homedir(), '.swarm-codex-home-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));
beforeEach(() => {
  repo = tempRepo({ 'README.md': '# test\n' });
  return () => repo.cleanup();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function codexInput(script: readonly ResponsesTurn[], over: Partial<AgentInput> = {}): Promise<{ input: AgentInput; events: AgentOutput[] }> {
  server = await ResponsesServer.start(script);
  const agent = agentSpec({ kind: 'codex', bin: CODEX_BIN, model: 'gpt-test', args: codexProviderArgs(server) });
  const made = agentInput(repo.dir, agent, over);
  return { input: { ...made.input, env: { ...codexEnv(home), ...over.env } }, events: made.events };
}

describe('codexArgs', () => {
  const agent = agentSpec({ kind: 'codex' });
  it('runs exec with JSON events, the workspace-write sandbox, and the prompt last after --', () => {
    expect(codexArgs({ agent, prompt: '--not-a-flag' })).toEqual(['exec', '--json', '--color', 'never', '--sandbox', 'workspace-write', '--', '--not-a-flag']);
  });
  it('maps permission modes onto sandboxes, and leaves the sandbox to agent.args when they name one', () => {
    expect(codexArgs({ agent: { ...agent, permissionMode: 'plan' }, prompt: 'p' })).toContain('read-only');
    expect(codexArgs({ agent: { ...agent, permissionMode: 'bypassPermissions' }, prompt: 'p' })).toContain('--dangerously-bypass-approvals-and-sandbox');
    const own = codexArgs({ agent: { ...agent, args: ['--sandbox', 'danger-full-access'] }, prompt: 'p' });
    expect(own.filter((a) => a === '--sandbox')).toHaveLength(1);
    expect(own).toContain('danger-full-access');
  });
  it('resumes a session with `exec resume ID`, after the exec options', () => {
    expect(codexArgs({ agent: { ...agent, model: 'm' }, prompt: 'go on', resumeSession: 'abc' })).toEqual([
      'exec',
      '--json',
      '--color',
      'never',
      '--sandbox',
      'workspace-write',
      '--model',
      'm',
      'resume',
      'abc',
      '--',
      'go on',
    ]);
  });
});

describe('CodexRunner with the real codex', { timeout: 120_000 }, () => {
  it.each([
    ['later today', 2 * 3600_000],
    ['on another day', 50 * 3600_000],
  ])(
    'a usage limit (429 usage_limit_reached, resets_at %s) ends the attempt as failure usage-limit with its reset time, to the minute',
    async (_when, inMs) => {
      const resets = Date.now() + inMs;
      const { input } = await codexInput([codexUsageLimit(resets)]);
      const result = await runner.run(input);
      expect(result).toMatchObject({ ok: false, failure: 'usage-limit' });
      expect(result.message).toMatch(/hit your usage limit/);
      // Codex says the local time to the minute; swarm reads it a minute late, never early.
      const minute = Math.floor(resets / 60_000) * 60_000;
      expect(result.resetsAt).toBe(minute + 60_000);
      expect(server?.requests).toHaveLength(1);
    },
  );

  it('runs a command the model asks for in the worktree, and reports session, tools, answer and turns', async () => {
    const { input, events } = await codexInput([
      { kind: 'exec', cmd: 'mkdir -p src && printf "export const x = 1;\\n" > src/x.ts' },
      { kind: 'message', text: 'Wrote src/x.ts.' },
    ]);
    const result = await runner.run(input);

    expect(result, result.message).toMatchObject({ ok: true, message: 'Wrote src/x.ts.', exitCode: 0 });
    expect(readFileSync(join(repo.dir, 'src/x.ts'), 'utf8')).toBe('export const x = 1;\n');
    const session = events.find((e) => e.reason === 'session');
    expect(session).toBeDefined();
    expect(result.sessionId).toBe(session && session.reason === 'session' ? session.sessionId : undefined);
    expect(events).toContainEqual(expect.objectContaining({ reason: 'tool', tool: 'exec', summary: expect.stringContaining('src/x.ts') }));
    expect(events.find((e) => e.reason === 'spawned')).toMatchObject({ argv: expect.arrayContaining(['exec', '--json']) });
    expect(result.turns).toBe(2);
    // The model saw the task's prompt, and the command's result on the second request.
    expect(JSON.stringify(server!.requests[0]!.body.input)).toContain('do it');
    expect(server!.requests[1]!.body.input.some((i) => i.type === 'function_call_output')).toBe(true);
    // The raw events are in the log, one JSON object a line.
    const log = readFileSync(input.logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type?: string });
    expect(log.map((e) => e.type)).toContain('turn.completed');
  });

  it("the workspace-write sandbox keeps the agent's writes inside its worktree (and temp folders)", async () => {
    // Outside both the worktree and the temp folders codex's sandbox leaves writable (the
    // checkout itself may be under /tmp, as in CI's fresh clone): the real home folder.
    const outside = join(homedir(), `.swarm-codex-sandbox-probe-${process.pid}`);
    expect(outside.startsWith(tmpdir())).toBe(false);
    try {
      const { input } = await codexInput([
        { kind: 'exec', cmd: `echo escaped > ${outside}; echo inside > inside.txt` },
        { kind: 'message', text: 'Tried.' },
      ]);
      const result = await runner.run(input);
      expect(result, result.message).toMatchObject({ ok: true });
      expect(existsSync(join(repo.dir, 'inside.txt'))).toBe(true);
      expect(existsSync(outside)).toBe(false);
    } finally {
      rmSync(outside, { force: true });
    }
  });

  it('resumes the session: the second run sends the earlier conversation', async () => {
    const first = await codexInput([{ kind: 'message', text: 'I will remember PINEAPPLE.' }], { prompt: 'The secret word is PINEAPPLE.' });
    const one = await runner.run(first.input);
    expect(one, one.message).toMatchObject({ ok: true });
    await server!.close();

    const second = await codexInput([{ kind: 'message', text: 'It was PINEAPPLE.' }], { prompt: 'What was the word?', resumeSession: one.sessionId! });
    const two = await runner.run(second.input);
    expect(two, two.message).toMatchObject({ ok: true, message: 'It was PINEAPPLE.', sessionId: one.sessionId });
    const seen = JSON.stringify(server!.requests[0]!.body.input);
    expect(seen).toContain('The secret word is PINEAPPLE.');
    expect(seen).toContain('I will remember PINEAPPLE.');
    expect(seen).toContain('What was the word?');
  });

  it('with isolate_config, each task keeps its own CODEX_HOME next to its logs', async () => {
    const { input } = await codexInput([{ kind: 'message', text: 'ok' }]);
    const result = await runner.run({ ...input, agent: { ...input.agent, isolateConfig: true } });
    expect(result, result.message).toMatchObject({ ok: true });
    const own = isolatedCodexHome(input);
    expect(own).toBe(join(dirname(input.logFile), 'auth.codex'));
    // The session codex recorded is there, not in the shared CODEX_HOME.
    expect(readdirSync(own, { recursive: true }).some((f) => String(f).includes(result.sessionId!))).toBe(true);
  });

  it("an API error fails the attempt with the API's own message", async () => {
    const { input } = await codexInput([{ kind: 'error', status: 400, message: 'this model is not available to you' }]);
    const result = await runner.run(input);
    expect(result).toMatchObject({ ok: false, failure: 'is-error', message: 'this model is not available to you' });
  });
});
