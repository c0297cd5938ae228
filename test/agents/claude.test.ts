/**
 * The claude runner driving the REAL `claude` binary (node_modules/.bin/claude, 2.1.110)
 * against the scripted model server, in a temp git repository.
 *
 * What the real CLI needs to run headless in a fresh HOME (see `claudeEnv` in the helper):
 * nothing beyond `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY` and the `-p` flags. In print
 * mode there is no onboarding, theme or folder-trust dialog, and an API key from the
 * environment is used without the interactive "use this key?" question. We also set
 * `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`, `DISABLE_AUTOUPDATER`, `DISABLE_TELEMETRY`
 * and `DISABLE_ERROR_REPORTING` so it calls nothing but the model server (it sends one
 * `HEAD /` connectivity probe there). As root, `acceptEdits` with `--allowedTools` works;
 * `bypassPermissions` would need `IS_SANDBOX=1`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClaudeRunner } from '../../src/agents/claude.js';
import { readStat } from '../../src/util/process-family.js';
import type { AgentInput, AgentOutput } from '../../src/engine/ports.js';
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
} from '../helpers/model-server.js';
import { agentInput, agentSpec } from './input.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));

/** A PreToolUse hook (run by claude through its shell) that refuses any path under forbidden/. */
const DENY_HOOK = `"${process.execPath}" -e "let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => { const p = JSON.parse(s).tool_input.file_path || ''; if (p.includes('/forbidden/')) { console.error('swarm: forbidden/ belongs to another task'); process.exit(2); } })"`;

let server: ModelServer;
let home: string;
let repo: TempRepo;
const runner = new ClaudeRunner({ graceMs: 2000 });

beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-claude-home-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  repo = tempRepo({ 'README.md': '# test\n' });
  return () => repo.cleanup();
});

function claudeInput(over: Partial<AgentInput> = {}, tools = ['Read', 'Write', 'Edit', 'Bash']): { input: AgentInput; events: AgentOutput[] } {
  const agent = agentSpec({ kind: 'claude', bin: CLAUDE, permissionMode: 'acceptEdits', allowedTools: tools });
  const made = agentInput(repo.dir, agent, over);
  return {
    input: { ...made.input, env: { ...claudeEnv(server, home), ...over.env } },
    events: made.events,
  };
}

const of = <R extends AgentOutput['reason']>(events: AgentOutput[], reason: R) =>
  events.filter((e): e is Extract<AgentOutput, { reason: R }> => e.reason === reason);

// A claude start costs ~2.5s of CPU; on a busy 2-core machine a test can take 30s+.
describe('ClaudeRunner with the real claude', { timeout: 180_000 }, () => {
  // One claude start is slow (seconds on a loaded machine), so this run covers a 429 too.
  // It also checks that --settings reaches claude: a PreToolUse hook denies one Write, and
  // the model sees the hook's reason in the tool result.
  it('retries a 429 (api-retry event), runs a Write that creates the file, reports session, cost and turns', async () => {
    let denial = '';
    server.setScript([
      apiError(429, 0, 'slow down'),
      toolUse('Write', { file_path: join(repo.dir, 'forbidden/secret.txt'), content: 'no\n' }),
      (req) => {
        denial = toolResults(req)
          .map((b) => JSON.stringify(b.content))
          .join('\n');
        return toolUse('Write', { file_path: join(repo.dir, 'src/hello.ts'), content: 'export const hello = 1;\n' });
      },
      // Claude's Bash tool sees the environment we gave claude (plus what claude adds itself).
      toolUse('Bash', { command: 'env > agent-env.txt', description: 'dump env' }),
      reply('All done.'),
    ]);
    const { input, events } = claudeInput({
      prompt: 'Create src/hello.ts',
      settingsJson: JSON.stringify({ hooks: { PreToolUse: [{ matcher: 'Write|Edit', hooks: [{ type: 'command', command: DENY_HOOK }] }] } }),
      env: {
        CLAUDECODE: '1',
        CLAUDE_CODE_ENTRYPOINT: 'parent-entry',
        CLAUDE_CODE_SESSION_ID: 'parent-session',
        CLAUDE_CODE_SSE_PORT: '9',
        SWARM_CANARY: 'kept',
      },
    });

    const result = await runner.run(input);

    expect(result, result.message).toMatchObject({ ok: true, exitCode: 0, turns: 4, message: 'All done.' });
    expect(readFileSync(join(repo.dir, 'src/hello.ts'), 'utf8')).toBe('export const hello = 1;\n');
    expect(existsSync(join(repo.dir, 'forbidden/secret.txt'))).toBe(false);
    expect(denial).toContain('forbidden/ belongs to another task');
    expect(result.costUsd).toBeGreaterThan(0);

    const sessions = of(events, 'session');
    expect(sessions).toHaveLength(1);
    expect(result.sessionId).toBe(sessions[0]!.sessionId);
    expect(of(events, 'tool').map((e) => e.summary)).toEqual(['Write forbidden/secret.txt', 'Write src/hello.ts', 'Bash env > agent-env.txt']);
    expect(of(events, 'output').map((e) => e.text)).toEqual(['All done.']);
    const retries = of(events, 'api-retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ reason: 'api-retry', retryAttempt: 1 });
    expect(retries[0]!.error).toContain('429');
    const spawned = of(events, 'spawned')[0]!;
    expect(spawned.argv).toContain('--allowedTools=Read,Write,Edit,Bash');
    expect(readStat(spawned.pid)).toBeUndefined();

    // The model saw our prompt; every side request was answered without eating the script.
    const main = server.mainRequests();
    expect(main).toHaveLength(5);
    expect(messagesText(main[0]!)).toContain('Create src/hello.ts');
    expect(server.unscripted).toBe(0);

    const agentEnv = readFileSync(join(repo.dir, 'agent-env.txt'), 'utf8');
    expect(agentEnv).toContain('SWARM_CANARY=kept');
    expect(agentEnv).toContain('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1');
    expect(agentEnv).not.toContain('parent-session');
    expect(agentEnv).not.toContain('parent-entry');
    expect(agentEnv).not.toContain('CLAUDE_CODE_SSE_PORT');

    // The log holds claude's raw stream-json, one object a line.
    const log = readFileSync(input.logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type?: string });
    expect(log[0]).toMatchObject({ type: 'system' });
    expect(log.filter((l) => l.type === 'result')).toHaveLength(1);
  });

  // bypassPermissions too: as root claude refuses it ("cannot be used with root/sudo
  // privileges") unless IS_SANDBOX=1, which the runner sets; the refusal would end
  // without a result, i.e. failure 'exit', not 'is-error'.
  it('fails with is-error when claude reports an error result (in bypassPermissions)', async () => {
    server.setScript([apiError(400, undefined, 'scripted bad request')]);
    const { input } = claudeInput();
    const result = await runner.run({ ...input, agent: { ...input.agent, permissionMode: 'bypassPermissions' } });
    expect(result).toMatchObject({ ok: false, failure: 'is-error', exitCode: 1 });
    expect(result.message).toContain('scripted bad request');
    expect(result.sessionId).toBeDefined();
  });

  // The first run also shows that a tool pattern with a space survives `--allowedTools=A,B`:
  // in dontAsk mode only pre-allowed commands run, so `npm test` runs and `npm run build`
  // is denied.
  it('resumes the session: the second run sends the earlier conversation', async () => {
    const results: string[] = [];
    const record = (req: RecordedRequest): void => {
      results.push(
        toolResults(req)
          .map((b) => JSON.stringify(b.content))
          .join(''),
      );
    };
    server.setScript([
      toolUse('Bash', { command: 'npm test', description: 'test' }),
      (req) => {
        record(req);
        return toolUse('Bash', { command: 'npm run build', description: 'build' });
      },
      (req) => {
        record(req);
        return reply('I will remember PINEAPPLE.');
      },
    ]);
    const firstInput = claudeInput({ prompt: 'The secret word is PINEAPPLE.' }, ['Read', 'Bash(npm test:*)']).input;
    const first = await runner.run({ ...firstInput, agent: { ...firstInput.agent, permissionMode: 'dontAsk' } });
    expect(first, first.message).toMatchObject({ ok: true, message: 'I will remember PINEAPPLE.' });
    expect(first.sessionId).toBeDefined();
    expect(results[0], 'npm test was allowed and ran').toMatch(/npm (error|ERR)/);
    expect(results[0]).not.toMatch(/denied/);
    expect(results[1], 'npm run build was not allowed').toMatch(/Permission to use Bash has been denied/);

    server.setScript([reply('The word was PINEAPPLE.')]);
    const { input } = claudeInput({ prompt: 'What was the secret word?', resumeSession: first.sessionId! });
    const second = await runner.run(input);

    expect(second, second.message).toMatchObject({ ok: true, message: 'The word was PINEAPPLE.' });
    expect(second.sessionId, 'claude -p --resume goes on in the same session').toBe(first.sessionId);
    const seen = messagesText(server.mainRequests()[0]!);
    expect(seen).toContain('The secret word is PINEAPPLE.');
    expect(seen).toContain('I will remember PINEAPPLE.');
    expect(seen).toContain('What was the secret word?');
  });

  it("a session it cannot find to resume is session-missing, with claude's words, no session id and no API call", async () => {
    server.setScript([reply('never sent')]);
    const missing = '00000000-0000-4000-8000-000000000000';
    const { input } = claudeInput({ prompt: 'go on', resumeSession: missing });
    const result = await runner.run(input);
    expect(result).toMatchObject({ ok: false, failure: 'session-missing', exitCode: 1 });
    expect(result.message).toContain(`No conversation found with session ID: ${missing}`);
    // claude names a new, empty session in its result; keeping it would resume nothing next time.
    expect(result.sessionId).toBeUndefined();
    expect(server.mainRequests()).toHaveLength(0);
  });

  it('kills the whole claude process group on abort, the Bash tool child too', async () => {
    const node = process.execPath;
    // The Bash tool reports its pid to the server, then sleeps in the foreground.
    const command = `"${node}" -e "fetch('${server.url}/test/bash-started?pid=' + process.ppid).then(() => {}, () => {})"; sleep 300`;
    server.setScript([toolUse('Bash', { command, description: 'long job', timeout: 600_000 }), reply('never reached')]);
    const controller = new AbortController();
    const { input, events } = claudeInput({ signal: controller.signal });

    const running = runner.run(input);
    const started = await server.waitFor((r) => r.path === '/test/bash-started');
    const shellPid = Number(new URL(started.url, server.url).searchParams.get('pid'));
    expect(readStat(shellPid)).toBeDefined();
    controller.abort();
    const result = await running;

    expect(result).toMatchObject({ ok: false, failure: 'cancelled' });
    expect(result.sessionId).toBeDefined();
    const claudePid = of(events, 'spawned')[0]!.pid;
    for (const pid of [claudePid, shellPid]) {
      const stat = readStat(pid);
      expect(stat === undefined || stat.state === 'Z', `pid ${pid} is gone`).toBe(true);
    }
    expect(existsSync(input.logFile)).toBe(true);
  });
});
