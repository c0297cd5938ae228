import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SwarmEvent } from '../../src/engine/events.js';
import { swarm, type SwarmProcess } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

/**
 * A repository with a swarm file whose agents are shell scripts the test writes (kind:
 * command), and a scratch folder outside the repository for scripts, flags and logs.
 */
export interface Arena {
  readonly repo: TempRepo;
  readonly scratch: string;
  /** Writes an executable script to the scratch folder; returns its path. */
  script(name: string, body: string): string;
  /** Commits swarm.yaml with these lines. */
  spec(lines: readonly string[]): void;
  run(args?: readonly string[], env?: Record<string, string>): SwarmProcess;
  cleanup(): void;
}

export function arena(): Arena {
  const repo = tempRepo({ 'README.md': '# arena\n', 'src/keep.txt': 'keep\n' });
  const scratch = mkdtempSync(join(tmpdir(), 'swarm-adversary-'));
  return {
    repo,
    scratch,
    script(name, body) {
      const path = join(scratch, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    },
    spec(lines) {
      writeFileSync(join(repo.dir, 'swarm.yaml'), `${lines.join('\n')}\n`);
      repo.git('add', 'swarm.yaml');
      repo.git('commit', '-q', '-m', 'swarm file');
    },
    run(args = [], env = {}) {
      return swarm(['run', 'swarm.yaml', '--ui', 'json', ...args], { cwd: repo.dir, env });
    },
    cleanup() {
      repo.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export function events(stdout: unknown): SwarmEvent[] {
  return String(stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as SwarmEvent);
}

/** The task each commit on the integration branch's first-parent chain merged, oldest first. */
export function mergedTasks(repo: TempRepo, base: string, into: string): string[] {
  const subjects = repo.git('log', '--first-parent', '--reverse', '--format=%s', `${base}..${into}`);
  return subjects === '' ? [] : subjects.split('\n').map((s) => /^swarm\(([^)]+)\)/.exec(s)?.[1] ?? `?${s}`);
}

export function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export interface SpecTask {
  readonly id: string;
  /** @default [`<id>.txt`] */
  readonly files?: readonly string[];
  readonly dependsOn?: readonly string[];
  /** Further lines of the task, already indented. */
  readonly lines?: readonly string[];
}

/**
 * The swarm.yaml lines of a run whose every agent is `sh <agent>`: `top` goes before the
 * agent block, `agentLines` into it (`  sandbox: off` when a test attacks swarm's own
 * layers rather than the sandbox). A task given by id alone owns `<id>.txt`.
 */
export function commandSpec(o: {
  readonly name: string;
  readonly agent: string;
  readonly top?: readonly string[];
  readonly agentLines?: readonly string[];
  readonly tail?: readonly string[];
  readonly tasks: readonly (string | SpecTask)[];
}): string[] {
  return [
    'version: 1',
    `name: ${o.name}`,
    ...(o.top ?? []),
    'agent:',
    '  kind: command',
    `  command: ${JSON.stringify(['sh', o.agent])}`,
    ...(o.agentLines ?? []),
    ...(o.tail ?? []),
    'tasks:',
    ...o.tasks.flatMap((t) => {
      const task: SpecTask = typeof t === 'string' ? { id: t } : t;
      return [
        `  - id: ${task.id}`,
        `    prompt: Do ${task.id}.`,
        `    files: ${JSON.stringify(task.files ?? [`${task.id}.txt`])}`,
        ...(task.dependsOn ? [`    depends_on: ${JSON.stringify(task.dependsOn)}`] : []),
        ...(task.lines ?? []),
      ];
    }),
  ];
}

/** For tests that attack swarm's own layers (hook, guard, audit, git), which must hold without the sandbox. */
export const NO_SANDBOX = ['  sandbox: off'] as const;
