import { execa, type ResultPromise } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readStat } from '../../src/util/process-family.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import type { AgentRig, RigAgent } from '../helpers/agent-rig.js';
import { CLI } from '../helpers/cli.js';
import { GIT_ENV, type TempRepo } from '../helpers/git-repo.js';

/** What connected to the rig: a task's agent, its check, or merge.check (all run the rig agent). */
export type Kind = 'agent' | 'check' | 'merge';

export function kindOf(a: RigAgent): Kind {
  if (/[/\\]_merge$/.test(a.hello.worktree)) return 'merge';
  return a.hello.prompt === '' ? 'check' : 'agent';
}

/**
 * Everything that connects to the rig, kept so a test can wait for a particular one
 * (by kind and task) whatever order they arrive in.
 */
export class Connections {
  readonly all: { kind: Kind; task: string; agent: RigAgent }[] = [];
  readonly #waiters: { match: (k: Kind, t: string) => boolean; resolve: (a: RigAgent) => void }[] = [];
  readonly #unclaimed: { kind: Kind; task: string; agent: RigAgent }[] = [];

  constructor(rig: AgentRig) {
    const pull = (): void => {
      void rig.next().then((agent) => {
        const c = { kind: kindOf(agent), task: agent.hello.task, agent };
        started.pids.push(agent.hello.pid);
        this.all.push(c);
        const i = this.#waiters.findIndex((w) => w.match(c.kind, c.task));
        if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(agent);
        else this.#unclaimed.push(c);
        pull();
      });
    };
    pull();
  }

  /** The next connection of this kind for this task. */
  next(kind: Kind, task: string): Promise<RigAgent> {
    const i = this.#unclaimed.findIndex((c) => c.kind === kind && c.task === task);
    if (i >= 0) return Promise.resolve(this.#unclaimed.splice(i, 1)[0]!.agent);
    return new Promise((resolve) => this.#waiters.push({ match: (k, t) => k === kind && t === task, resolve }));
  }

  count(kind: Kind, task: string): number {
    return this.all.filter((c) => c.kind === kind && c.task === task).length;
  }
}

export interface Runner {
  readonly proc: ResultPromise;
  readonly events: SwarmEvent[];
  /** Resolves with the first event (seen so far or to come) that matches. */
  waitFor(match: (e: SwarmEvent) => boolean): Promise<SwarmEvent>;
  /** SIGKILL: no handler runs, nothing is cleaned up; what a crash or an OOM kill leaves. */
  kill(): Promise<void>;
}

/** `swarm run swarm.yaml --ui json` in the repo, its events parsed as they arrive. */
export function startRun(repo: TempRepo, rig: AgentRig, args: string[] = []): Runner {
  const proc = execa(process.execPath, [CLI, 'run', 'swarm.yaml', '--ui', 'json', ...args], {
    cwd: repo.dir,
    reject: false,
    stdin: 'ignore',
    env: { CI: '1', NO_COLOR: '1', ...GIT_ENV, RIG_SOCKET: rig.socketPath },
  });
  const events: SwarmEvent[] = [];
  const waiters: { match: (e: SwarmEvent) => boolean; resolve: (e: SwarmEvent) => void }[] = [];
  let buffer = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as SwarmEvent;
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(e)) waiters.splice(i, 1)[0]!.resolve(e);
      }
    }
  });
  const runner: Runner = {
    proc,
    events,
    waitFor(match) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async kill() {
      proc.kill('SIGKILL');
      await proc;
    },
  };
  started.runners.push(runner);
  return runner;
}

export function writeSpec(repo: TempRepo, lines: string[]): void {
  writeFileSync(join(repo.dir, 'swarm.yaml'), `${lines.join('\n')}\n`);
}

/** Alive and not a zombie: a killed orphan waits for a reaper that a container may not have. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** Everything a test started, for afterEach: a failed assertion must not leave a runner or an agent holding the rig open. */
export const started = {
  runners: [] as Runner[],
  pids: [] as number[],
  killAll(): void {
    for (const r of this.runners.splice(0)) r.proc.kill('SIGKILL');
    for (const pid of this.pids.splice(0)) {
      try {
        // Only while that pid is still a rig agent: a pid can be reused once its process ended.
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('rig-agent')) continue;
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  },
};
