/**
 * Agents that misbehave, through the built CLI with `command` agents (node scripts) in a
 * real git repository and the real state.db: one that prints 200,000 lines and one huge
 * line (state.db stays small, the log file keeps every line), and one that deletes its own
 * lease row (the task fails saying the lease was lost, and nothing of it merges).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let scripts: string;
let repo: TempRepo;
beforeEach(() => {
  scripts = mkdtempSync(join(tmpdir(), 'swarm-flood-lease-'));
  repo = tempRepo({ 'README.md': '# flood\n' });
});
afterEach(() => {
  repo.cleanup();
  rmSync(scripts, { recursive: true, force: true });
});

function setup(name: string, body: string, extra: string[] = []): void {
  const file = join(scripts, 'agent.mjs');
  writeFileSync(file, body);
  writeFileSync(
    join(repo.dir, 'swarm.yaml'),
    [
      'version: 1',
      `name: ${name}`,
      'retries: 0',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify([process.execPath, file])}`,
      // Lease loss is what is under test here: an agent in the sandbox could not touch
      // state.db at all (test/adversary covers that).
      '  sandbox: off',
      ...extra,
      'tasks:',
      '  - id: t',
      '    prompt: Do t.',
      '    files: ["lib/t/**"]',
      '',
    ].join('\n'),
  );
  repo.commitAll('swarm file');
}

const dbPath = () => join(repo.dir, '.swarm', 'state.db');
const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

function storedEvents(run: string): SwarmEvent[] {
  const store = openStore(dbPath());
  try {
    return store.events(run).map((e) => e.event);
  } finally {
    store.close();
  }
}

describe('an agent that floods its output', { timeout: 180_000 }, () => {
  it('200,000 lines and a 1 MB line: state.db keeps a bounded record, the log file every line', async () => {
    const LINES = 200_000;
    setup(
      'flood',
      `import { mkdirSync, writeFileSync } from 'node:fs';
process.stdout.write('H'.repeat(1024 * 1024) + '\\n');
const chunk = [];
for (let i = 0; i < ${LINES}; i++) chunk.push('line ' + i + ' of the flood, padded to look like a test runner talking');
process.stdout.write(chunk.join('\\n') + '\\n');
mkdirSync('lib/t', { recursive: true });
writeFileSync('lib/t/done.txt', 'done\\n');
`,
    );
    const res = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir });
    expect(res.exitCode, String(res.stderr)).toBe(0);
    expect(repo.git('show', 'swarm/flood:lib/t/done.txt')).toBe('done');

    // The whole of state.db, its WAL included, stays small (one row a line was ~30 MB here).
    const bytes = sizeOf(dbPath()) + sizeOf(`${dbPath()}-wal`);
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    const output = storedEvents('flood').flatMap((e) => (e.type === 'agent' && e.reason === 'output' ? [e.text] : []));
    expect(output.length).toBeLessThanOrEqual(501);
    // The huge line is stored clipped, saying so; the lines after it are stored until the budget is spent.
    expect(output[0]).toMatch(/^H{4000}… \[1044576 more characters in the log file\]$/);
    expect(output[1]).toBe('line 0 of the flood, padded to look like a test runner talking');
    // The last row stands for everything left out, and says where it is.
    const summary = output.at(-1)!;
    expect(summary).toMatch(/^\[swarm: \d+ more lines of output \([\d.]+ MB\) not kept in state\.db; the log file has every line: .*t\.1\.jsonl\]$/);
    const elided = Number(/(\d+) more lines/.exec(summary)![1]);
    expect(output.length - 1 + elided).toBe(LINES + 1);
    expect(output.every((t) => t.length < 5000)).toBe(true);

    // The log file has every line as the agent printed it, the huge one whole.
    const log = readFileSync(join(repo.dir, '.swarm', 'logs', 'flood', 't.1.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { stream: string; line: string })
      .filter((e) => e.stream === 'stdout');
    expect(log).toHaveLength(LINES + 1);
    expect(log[0]!.line).toBe('H'.repeat(1024 * 1024));
    expect(log[LINES]!.line).toBe(`line ${LINES - 1} of the flood, padded to look like a test runner talking`);
  });
});

describe('an agent that deletes its own lease row', { timeout: 120_000 }, () => {
  const deleteLease = (name: string) =>
    `execFileSync('sqlite3', ['-cmd', '.timeout 5000', ${JSON.stringify(dbPath())}, "DELETE FROM leases WHERE run = '${name}' AND task = 't'"]);`;

  it('and keeps working: the renewal finds it gone, the task fails saying the lease was lost, nothing merges', async () => {
    setup(
      'lost',
      `import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('lib/t', { recursive: true });
writeFileSync('lib/t/work.txt', 'work\\n');
${deleteLease('lost')}
setTimeout(() => {}, 60_000);
`,
      ['lease:', '  ttl: 5s'],
    );
    const started = Date.now();
    const res = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir });
    expect(Date.now() - started, 'stopped at the next renewal, not after the agent slept').toBeLessThan(45_000);
    expect(res.exitCode, String(res.stderr)).toBe(1);
    const evs = String(res.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SwarmEvent);
    const end = evs.filter((e) => e.type === 'task' && e.task === 't').at(-1);
    expect(end).toMatchObject({ to: 'failed' });
    const detail = end?.type === 'task' ? (end.detail ?? '') : '';
    expect(detail).toContain('its lease on lib/t/** was lost while it worked');
    expect(detail).not.toContain('stopped by the user');
    expect(evs.some((e) => e.type === 'log' && e.reason === 'warning' && e.message.includes('lease on lib/t/** was lost'))).toBe(true);
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm/lost')).not.toContain('lib/t/work.txt');
    // The work is not thrown away: it is on the task's branch.
    expect(repo.git('show', 'swarm-task/lost/t:lib/t/work.txt')).toBe('work');
    const store = openStore(dbPath());
    try {
      expect(store.getTasks('lost')[0]).toMatchObject({ state: 'failed' });
    } finally {
      store.close();
    }
  });

  it('from its check: the renewal stops the check, and the task fails saying the lease was lost', async () => {
    setup(
      'incheck',
      `import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('lib/t', { recursive: true });
writeFileSync('lib/t/work.txt', 'work\\n');
`,
      ['lease:', '  ttl: 5s', `check: ${JSON.stringify(`sqlite3 -cmd '.timeout 5000' '${dbPath()}' "DELETE FROM leases WHERE run = 'incheck'"; sleep 60`)}`],
    );
    const res = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir });
    expect(res.exitCode, String(res.stderr)).toBe(1);
    const evs = String(res.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SwarmEvent);
    const states = evs.flatMap((e) => (e.type === 'task' && e.task === 't' ? [e.to] : []));
    expect(states).toEqual(['ready', 'starting', 'running', 'checking', 'failed']);
    const end = evs.filter((e) => e.type === 'task' && e.task === 't').at(-1);
    expect(end?.type === 'task' ? end.detail : '').toContain('was lost while it worked');
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm/incheck')).not.toContain('lib/t/work.txt');
  });

  it('and exits at once: the task fails before its check runs, not at the merge', async () => {
    const marker = join(scripts, 'check-ran');
    setup(
      'gone',
      `import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('lib/t', { recursive: true });
writeFileSync('lib/t/work.txt', 'work\\n');
${deleteLease('gone')}
`,
      [`check: ${JSON.stringify(`touch ${marker}`)}`],
    );
    const res = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir });
    expect(res.exitCode, String(res.stderr)).toBe(1);
    const evs = String(res.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SwarmEvent);
    const states = evs.flatMap((e) => (e.type === 'task' && e.task === 't' ? [e.to] : []));
    expect(states).toEqual(['ready', 'starting', 'running', 'failed']);
    const end = evs.filter((e) => e.type === 'task' && e.task === 't').at(-1);
    expect(end?.type === 'task' ? end.detail : '').toContain('was lost while it worked');
    expect(existsSync(marker), 'the check never ran').toBe(false);
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm/gone')).not.toContain('lib/t/work.txt');
  });
});
