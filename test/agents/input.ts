import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSpec, TaskSpec } from '../../src/config/spec.js';
import type { AgentInput, AgentOutput } from '../../src/engine/ports.js';

export function agentSpec(over: Partial<AgentSpec> = {}): AgentSpec {
  return { kind: 'command', args: [], isolateConfig: false, sandbox: 'auto', ...over };
}

export function taskSpec(agent: AgentSpec, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id: 'auth',
    title: 'Auth',
    prompt: 'do it',
    files: ['src/**'],
    dependsOn: [],
    retries: 0,
    allowEmpty: true,
    timeoutMs: 60_000,
    env: {},
    agent,
    loc: {},
    ...over,
  };
}

/** An AgentInput for `worktree`, collecting events; the prompt is written to a prompt file in a temp logs dir. */
export function agentInput(worktree: string, agent: AgentSpec, over: Partial<AgentInput> = {}): { input: AgentInput; events: AgentOutput[]; logsDir: string } {
  const logsDir = mkdtempSync(join(tmpdir(), 'swarm-agent-logs-'));
  const prompt = over.prompt ?? 'do it';
  const promptFile = join(logsDir, 'auth.1.prompt.md');
  writeFileSync(promptFile, prompt);
  const events: AgentOutput[] = [];
  const input: AgentInput = {
    run: 'demo',
    task: taskSpec(agent),
    agent,
    attempt: 1,
    worktree,
    prompt,
    promptFile,
    env: {},
    timeoutMs: 60_000,
    logFile: join(logsDir, 'auth.1.jsonl'),
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
    ...over,
  };
  return { input, events, logsDir };
}
