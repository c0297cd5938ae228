import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandSpec, events, type SpecTask } from '../adversary/run-fixture.js';
import { swarm } from './cli.js';
import { git } from './git-repo.js';

/** Temp folders of one test file, removed by `cleanupShards` (call it in afterEach). */
const temps: string[] = [];

export function cleanupShards(): void {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
}

export function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** A bare origin whose main holds swarm.yaml (run `name`) with these tasks, every agent `sh agent.sh` (the body given). */
export function shardOrigin(o: { name: string; tasks: readonly SpecTask[]; agent: string; top?: readonly string[] }): { origin: string; scratch: string } {
  const scratch = temp('swarm-shards-');
  const agent = join(scratch, 'agent.sh');
  writeFileSync(agent, `#!/bin/sh\n${o.agent}\n`);
  const origin = temp('swarm-origin-');
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  const seed = cloneOf(origin, true);
  writeFileSync(join(seed, 'README.md'), '# shards\n');
  const lines = commandSpec({ name: o.name, agent, top: ['retries: 0', 'concurrency: 2', ...(o.top ?? [])], agentLines: ['  sandbox: off'], tasks: o.tasks });
  writeFileSync(join(seed, 'swarm.yaml'), `${lines.join('\n')}\n`);
  git(seed, 'add', '.');
  git(seed, 'commit', '-q', '-m', 'seed');
  git(seed, 'push', '-q', 'origin', 'HEAD:main');
  return { origin, scratch };
}

export function cloneOf(origin: string, empty = false): string {
  const dir = join(temp('swarm-clone-'), 'repo');
  if (empty) {
    git(process.cwd(), 'init', '-q', '-b', 'main', dir);
    git(dir, 'remote', 'add', 'origin', origin);
  } else {
    git(process.cwd(), 'clone', '-q', origin, dir);
  }
  git(dir, 'config', 'user.name', 'swarm test');
  git(dir, 'config', 'user.email', 'test@swarm.invalid');
  return dir;
}

/** `swarm run --shard k/n --push origin` in `dir`, polling the remote often. */
export function runShard(dir: string, k: number, n: number, env: Record<string, string> = {}) {
  return swarm(['run', 'swarm.yaml', '--ui', 'json', '--push', 'origin', '--shard', `${k}/${n}`], {
    cwd: dir,
    env: { SWARM_SHARD_POLL_MS: '150', ...env },
  });
}

/** `Swarm-Task` trailers on origin's integration branch, first-parent, oldest first. */
export function landedOnOrigin(origin: string, into: string): string[] {
  return git(origin, 'log', '--first-parent', '--reverse', '--format=%(trailers:key=Swarm-Task,valueonly)', into)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The failures and warnings in a run's json events, for an assertion's message. */
export function why(stdout: unknown): string {
  return events(stdout)
    .filter((e) => (e.type === 'task' && ['failed', 'blocked', 'conflicted'].includes(e.to)) || (e.type === 'log' && e.reason === 'warning'))
    .map((e) => JSON.stringify(e))
    .join('\n');
}

/** Each task's last state in a run's json events. */
export function finalStates(stdout: unknown): Map<string, { to: string; detail?: string }> {
  const out = new Map<string, { to: string; detail?: string }>();
  for (const e of events(stdout)) if (e.type === 'task' && e.reason === 'state') out.set(e.task, { to: e.to, ...(e.detail ? { detail: e.detail } : {}) });
  return out;
}
