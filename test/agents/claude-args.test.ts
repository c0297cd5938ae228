import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claudeArgs, claudeProcessEnv, ClaudeRunner, isolatedConfigDir } from '../../src/agents/claude.js';
import { agentInput, agentSpec } from './input.js';

const claude = (over: Parameters<typeof agentSpec>[0] = {}) => agentSpec({ kind: 'claude', ...over });

describe('claudeArgs', () => {
  it('builds the minimal headless command line, prompt last after --', () => {
    expect(claudeArgs({ agent: claude(), prompt: '-rf: a prompt that looks like a flag' })).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'acceptEdits',
      '--',
      '-rf: a prompt that looks like a flag',
    ]);
  });

  it('passes every option, tool lists as one --flag=A,B argument, and user args before the prompt', () => {
    const args = claudeArgs({
      agent: claude({
        permissionMode: 'bypassPermissions',
        model: 'sonnet',
        maxTurns: 50,
        maxBudgetUsd: 2.5,
        allowedTools: ['Read', 'Edit', 'Bash(npm test:*)'],
        disallowedTools: ['WebFetch'],
        args: ['--add-dir', '../shared'],
      }),
      prompt: 'PROMPT',
      settingsJson: '{"hooks":{}}',
      resumeSession: 'abc-123',
    });
    expect(args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'bypassPermissions',
      '--settings',
      '{"hooks":{}}',
      '--model',
      'sonnet',
      '--max-turns',
      '50',
      '--max-budget-usd',
      '2.5',
      '--allowedTools=Read,Edit,Bash(npm test:*)',
      '--disallowedTools=WebFetch',
      '--resume',
      'abc-123',
      '--add-dir',
      '../shared',
      '--',
      'PROMPT',
    ]);
    expect(args).not.toContain('--bare');
  });
});

describe('claudeProcessEnv', () => {
  const parent = {
    PATH: '/usr/bin',
    CLAUDECODE: '1',
    CLAUDE_CODE_ENTRYPOINT: 'cli',
    CLAUDE_CODE_SESSION_ID: 'parent-session',
    CLAUDE_CODE_SSE_PORT: '1234',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_OUTPUT_TOKENS: '8000',
    UNSET: undefined,
  };

  it("strips a parent session's identity and keeps the user's CLAUDE_CODE_* settings", () => {
    const { input } = agentInput('/wt', claude(), { env: { LOG_LEVEL: 'debug' } });
    const env = claudeProcessEnv(input, false, parent);
    expect(env).toEqual({
      PATH: '/usr/bin',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_MAX_OUTPUT_TOKENS: '8000',
      CLAUDE_CODE_DISABLE_AUTO_MEMORY: '1',
      LOG_LEVEL: 'debug',
    });
  });

  it("turns Claude Code's auto-memory off unless the user set it", () => {
    const { input } = agentInput('/wt', claude());
    expect(claudeProcessEnv(input, false, parent).CLAUDE_CODE_DISABLE_AUTO_MEMORY).toBe('1');
    expect(claudeProcessEnv(input, false, { ...parent, CLAUDE_CODE_DISABLE_AUTO_MEMORY: '0' }).CLAUDE_CODE_DISABLE_AUTO_MEMORY).toBe('0');
  });

  it('sets IS_SANDBOX only for bypassPermissions as root', () => {
    const bypass = agentInput('/wt', claude({ permissionMode: 'bypassPermissions' })).input;
    const accept = agentInput('/wt', claude({ permissionMode: 'acceptEdits' })).input;
    expect(claudeProcessEnv(bypass, true, parent).IS_SANDBOX).toBe('1');
    expect(claudeProcessEnv(bypass, false, parent).IS_SANDBOX).toBeUndefined();
    expect(claudeProcessEnv(accept, true, parent).IS_SANDBOX).toBeUndefined();
  });

  it('gives each task its own CLAUDE_CONFIG_DIR next to its logs with isolate_config', () => {
    const { input, logsDir } = agentInput('/wt', claude({ isolateConfig: true }));
    const env = claudeProcessEnv(input, false, { ...parent, CLAUDE_CONFIG_DIR: '/home/me/.claude' });
    expect(env.CLAUDE_CONFIG_DIR).toBe(join(logsDir, 'auth.claude'));
    expect(isolatedConfigDir({ ...input, logFile: join(logsDir, 'auth.2.jsonl') })).toBe(join(logsDir, 'auth.claude'));
    const shared = claudeProcessEnv(agentInput('/wt', claude()).input, false, { ...parent, CLAUDE_CONFIG_DIR: '/home/me/.claude' });
    expect(shared.CLAUDE_CONFIG_DIR).toBe('/home/me/.claude');
  });
});

describe('ClaudeRunner.preflight', () => {
  it('names what is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'swarm-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      const runner = new ClaudeRunner();
      expect(await runner.preflight(claude(), empty)).toEqual({
        ok: false,
        error: 'claude not found on PATH; install @anthropic-ai/claude-code or set agent.bin',
      });
      expect(await runner.preflight(claude({ bin: './bin/claude' }), empty)).toEqual({
        ok: false,
        error: `agent.bin: ./bin/claude not found or not executable (looked at ${join(empty, 'bin/claude')})`,
      });
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('accepts the installed claude', async () => {
    const bin = new URL('../../node_modules/.bin/claude', import.meta.url).pathname;
    expect(await new ClaudeRunner().preflight(claude({ bin }), '/')).toEqual({ ok: true, value: undefined });
  });
});
