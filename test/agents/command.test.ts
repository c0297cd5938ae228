import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRunner, fillArgv } from '../../src/agents/command.js';
import { defaultRunners } from '../../src/agents/registry.js';
import { agentInput, agentSpec } from './input.js';

const ECHO_AGENT = fileURLToPath(new URL('./fixtures/echo-agent.mjs', import.meta.url));
const worktree = mkdtempSync(join(tmpdir(), 'swarm-command-wt-'));
afterAll(() => rmSync(worktree, { recursive: true, force: true }));

interface Echo {
  argv: string[];
  cwd: string;
  swarm: Record<string, string>;
  custom: string | null;
  claudecode: string | null;
  promptFromFile: string | null;
}

describe('fillArgv', () => {
  it('fills every placeholder, inside arguments too, in one pass', () => {
    const argv = fillArgv(['agent', '--task={task}', '{prompt}', '{prompt_file}', '{worktree}/x', '{unknown}'], {
      prompt: 'say {task} and {worktree}',
      promptFile: '/logs/p.md',
      task: 'auth',
      worktree: '/wt',
    });
    expect(argv).toEqual(['agent', '--task=auth', 'say {task} and {worktree}', '/logs/p.md', '/wt/x', '{unknown}']);
  });
});

describe('CommandRunner', () => {
  const runner = new CommandRunner();

  it('runs the argv without a shell, in the worktree, with SWARM_* and the given env', async () => {
    // Shell syntax in the prompt must reach the agent untouched.
    const prompt = `fix "auth" $(touch pwned) ; rm -rf {task} 'quoted'`;
    const agent = agentSpec({ command: [process.execPath, ECHO_AGENT, '{prompt}', '{prompt_file}', '{task}', '{worktree}'] });
    const { input, events, logsDir } = agentInput(worktree, agent, {
      prompt,
      env: { CUSTOM_VAR: 'from-task', CLAUDECODE: '1' },
    });

    const result = await runner.run(input);

    expect(result).toMatchObject({ ok: true, exitCode: 0, signal: null, message: 'second line' });
    const outputs = events.filter((e) => e.reason === 'output').map((e) => (e.reason === 'output' ? e.text : ''));
    expect(outputs).toHaveLength(2);
    const echo = JSON.parse(outputs[0]!) as Echo;
    expect(echo.argv).toEqual([prompt, input.promptFile, 'auth', worktree]);
    expect(echo.cwd).toBe(worktree);
    expect(echo.swarm).toEqual({
      SWARM_TASK: 'auth',
      SWARM_RUN: 'demo',
      SWARM_WORKTREE: worktree,
      SWARM_PROMPT_FILE: input.promptFile,
      SWARM_ATTEMPT: '1',
      // Marks the agent's processes so a stop finds them all (see process.ts).
      SWARM_PROCESS_TAG: expect.stringMatching(/^\d+-[0-9a-f-]{36}$/),
    });
    expect(echo.custom).toBe('from-task');
    expect(echo.claudecode, 'a parent Claude session identity is stripped').toBeNull();
    expect(echo.promptFromFile).toBe(prompt);
    expect(readdirSync(worktree)).not.toContain('pwned');

    const spawned = events.find((e) => e.reason === 'spawned');
    expect(spawned).toMatchObject({ reason: 'spawned', argv: [process.execPath, ECHO_AGENT, prompt, input.promptFile, 'auth', worktree] });
    expect(events[0]?.reason).toBe('spawned');

    const log = readFileSync(input.logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stream: string; line: string });
    expect(log.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(outputs);
    expect(log.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['a warning on stderr']);
    rmSync(logsDir, { recursive: true, force: true });
  });

  it('fails on a non-zero exit, with stderr in the message', async () => {
    const agent = agentSpec({ command: [process.execPath, ECHO_AGENT] });
    const { input } = agentInput(worktree, agent, { env: { EXIT_CODE: '4' } });
    const result = await runner.run(input);
    expect(result).toMatchObject({ ok: false, failure: 'exit', exitCode: 4 });
    expect(result.message).toContain('exit 4');
    expect(result.message).toContain('a warning on stderr');
  });

  it('times out and is cancelled as whole process groups', async () => {
    const agent = agentSpec({ command: ['sh', '-c', 'echo ready; sleep 300 & wait'] });
    const timed = agentInput(worktree, agent, { timeoutMs: 300 });
    expect(await new CommandRunner({ graceMs: 1000 }).run(timed.input)).toMatchObject({ ok: false, failure: 'timeout' });

    const controller = new AbortController();
    const cancelled = agentInput(worktree, agent, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.reason === 'output' && e.text === 'ready') controller.abort();
      },
    });
    expect(await runner.run(cancelled.input)).toMatchObject({ ok: false, failure: 'cancelled', signal: 'SIGTERM' });
  });

  it('reports a program that cannot start as a spawn failure', async () => {
    const { input } = agentInput(worktree, agentSpec({ command: ['./no-such-agent'] }));
    expect(await runner.run(input)).toMatchObject({ ok: false, failure: 'spawn' });
  });

  it('runs a relative program from where preflight found it, not from the worktree', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarm-command-root-'));
    mkdirSync(join(root, 'tools'));
    writeFileSync(join(root, 'tools', 'agent.sh'), '#!/bin/sh\necho "from-root $SWARM_TASK"\n');
    chmodSync(join(root, 'tools', 'agent.sh'), 0o755);
    const local = new CommandRunner();
    const agent = agentSpec({ command: ['./tools/agent.sh', '{prompt}'] });
    expect((await local.preflight(agent, root)).ok).toBe(true);
    const { input, events } = agentInput(worktree, agent);
    expect(await local.run(input)).toMatchObject({ ok: true, message: 'from-root auth' });
    expect(events[0]).toMatchObject({ reason: 'spawned', argv: [join(root, 'tools', 'agent.sh'), 'do it'] });
    rmSync(root, { recursive: true, force: true });
  });

  describe('preflight', () => {
    it('finds a bare name on PATH and a relative path in cwd', async () => {
      expect(await runner.preflight(agentSpec({ command: ['sh', '-c', 'true'] }), worktree)).toEqual({ ok: true, value: undefined });
      mkdirSync(join(worktree, 'bin'), { recursive: true });
      writeFileSync(join(worktree, 'bin', 'agent'), '#!/bin/sh\n');
      chmodSync(join(worktree, 'bin', 'agent'), 0o755);
      expect((await runner.preflight(agentSpec({ command: ['./bin/agent'] }), worktree)).ok).toBe(true);
      // Found relative to the cwd it was given, not to where the test runs.
      expect((await runner.preflight(agentSpec({ command: ['./bin/agent'] }), dirname(worktree))).ok).toBe(false);
    });

    it('names the missing binary', async () => {
      const missing = await runner.preflight(agentSpec({ command: ['swarm-no-such-agent-xyz', '{prompt}'] }), worktree);
      expect(missing).toEqual({ ok: false, error: 'agent command: swarm-no-such-agent-xyz not found on PATH' });
      const notExec = join(worktree, 'not-exec.sh');
      writeFileSync(notExec, 'echo\n');
      const res = await runner.preflight(agentSpec({ command: [`./${basename(notExec)}`] }), worktree);
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error).toContain('not-exec.sh not found or not executable');
    });

    it('asks for agent.command when there is none', async () => {
      const res = await runner.preflight(agentSpec({}), worktree);
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error).toMatch(/agent\.command is required/);
    });
  });

  it('is registered by defaultRunners next to claude and codex', () => {
    const runners = defaultRunners();
    expect([...runners.keys()].sort()).toEqual(['claude', 'codex', 'command']);
    expect(runners.get('command')).toBeInstanceOf(CommandRunner);
  });
});
