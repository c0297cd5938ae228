/**
 * The rig for hostile agents: a real repository, a `kind: command` agent that is a shell
 * script written by the test, and the built CLI run with `--ui json`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SwarmEvent } from '../../src/engine/events.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

export type Mode = 'required' | 'off';

/** Whether bubblewrap works on this machine (the sandboxed half of the suite needs it). */
export function bwrapWorks(): boolean {
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** better-sqlite3 as installed for swarm: what a hostile node script would reach for. */
export const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3');

export interface HostileTask {
  readonly id: string;
  readonly files: readonly string[];
  /** The agent: a POSIX shell script; `$ROOT` is the user's checkout, `$RUN` the run's name. */
  readonly script: string;
  readonly dependsOn?: readonly string[];
}

export interface Outcome {
  readonly exitCode: number | undefined;
  readonly events: SwarmEvent[];
  readonly stderr: string;
}

export const RUN = 'adv';

export class HostileRepo {
  readonly repo: TempRepo;
  readonly #scripts = mkdtempSync(join(tmpdir(), 'swarm-hostile-'));

  constructor(files: Record<string, string> = { 'README.md': "# the user's readme\n" }) {
    this.repo = tempRepo(files);
  }

  get root(): string {
    return this.repo.dir;
  }

  /** Writes swarm.yaml (committed, so the user's checkout starts clean) and runs it. */
  async run(mode: Mode, tasks: readonly HostileTask[], opts: { retries?: number; timeout?: string } = {}): Promise<Outcome> {
    const lines = [
      'version: 1',
      `name: ${RUN}`,
      `retries: ${opts.retries ?? 0}`,
      `timeout: ${opts.timeout ?? '30s'}`,
      'agent:',
      '  kind: command',
      `  sandbox: ${mode}`,
      'tasks:',
    ];
    for (const t of tasks) {
      const script = join(this.#scripts, `${t.id}.sh`);
      writeFileSync(script, `ROOT=${shq(this.root)}\nRUN=${RUN}\n${t.script}\n`);
      lines.push(
        `  - id: ${t.id}`,
        `    prompt: Do ${t.id}.`,
        `    files: ${JSON.stringify(t.files)}`,
        `    agent: { command: ${JSON.stringify(['sh', script])} }`,
        ...(t.dependsOn ? [`    depends_on: ${JSON.stringify(t.dependsOn)}`] : []),
      );
    }
    this.repo.write('swarm.yaml', `${lines.join('\n')}\n`);
    this.repo.commitAll('swarm.yaml');
    const result = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: this.root });
    const events = String(result.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as SwarmEvent);
    return { exitCode: result.exitCode, events, stderr: String(result.stderr) };
  }

  read(path: string): Buffer {
    return readFileSync(join(this.root, path));
  }

  /** The files on the integration branch, or [] when it has none of the task's work. */
  integrationFiles(): string[] {
    return this.repo.git('ls-tree', '-r', '--name-only', `swarm/${RUN}`).split('\n').filter(Boolean);
  }

  cleanup(): void {
    this.repo.cleanup();
    rmSync(this.#scripts, { recursive: true, force: true });
  }
}

export function violations(events: readonly SwarmEvent[]): { task: string; path: string; where: string; blocked: boolean }[] {
  return events.flatMap((e) => (e.type === 'lease' && e.reason === 'violation' ? [{ task: e.task, path: e.path, where: e.where, blocked: e.blocked }] : []));
}

/** The detail of the task's last failed state change. */
export function failure(events: readonly SwarmEvent[], task: string): string | undefined {
  const failed = events.filter((e) => e.type === 'task' && e.task === task && e.to === 'failed');
  const last = failed[failed.length - 1];
  return last?.type === 'task' ? last.detail : undefined;
}

function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
