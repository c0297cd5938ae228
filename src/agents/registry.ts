/**
 * Every agent kind swarm knows. Adding one is a new file with its `AgentRunner` and one
 * line here (plus its name in `AgentKind` and the schema).
 */
import type { AgentKind } from '../config/spec.js';
import type { AgentRunner } from '../engine/ports.js';
import { ClaudeRunner } from './claude.js';
import { CodexRunner } from './codex.js';
import { CommandRunner } from './command.js';
import type { RunnerOptions } from './process.js';

export function defaultRunners(options: RunnerOptions = {}): Map<AgentKind, AgentRunner> {
  const runners: AgentRunner[] = [new ClaudeRunner(options), new CodexRunner(options), new CommandRunner(options)];
  return new Map(runners.map((r) => [r.kind, r]));
}
