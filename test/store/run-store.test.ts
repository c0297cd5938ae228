import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import type { RunRecord } from '../../src/engine/ports.js';
import type { TaskState } from '../../src/engine/task-state.js';
import { findMainRoot, findStateDb, openStore, type SqliteStore } from '../../src/store/index.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-store-'));
  const store = openStore(join(dir, 'state.db'));
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

const RUN: RunRecord = {
  name: 'demo',
  file: '/repo/swarm.yaml',
  into: 'swarm/demo',
  baseSha: 'a'.repeat(40),
  status: 'running',
  pid: process.pid,
  host: 'here',
  startedAt: 1000,
  costUsd: 0,
};

const stateEvent = (task: string, from: TaskState, to: TaskState): SwarmEvent => ({
  type: 'task',
  reason: 'state',
  run: 'demo',
  at: 2000,
  task,
  from,
  to,
  attempt: 0,
});

describe('SqliteStore', () => {
  it('creates the schema in WAL mode with foreign keys and a schema version', () => {
    const store = tempStore();
    const db = new Database(store.path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['runs', 'tasks', 'attempts', 'events', 'leases', 'messages', 'durations']));
    db.close();
    // Opening again must not re-run migrations (they would fail on existing tables).
    openStore(store.path).close();
  });

  it('saves a run with its tasks, and a resave keeps task details while dropping removed tasks', () => {
    const store = tempStore();
    store.saveRun(RUN, [
      { task: 'a', hash: 'h1', state: 'pending' },
      { task: 'b', hash: 'h2', state: 'pending' },
    ]);
    store.updateTask('demo', 'a', { sessionId: 's-1', costUsd: 0.5, branch: 'swarm/demo/a' });
    expect(store.getRun('demo')).toEqual(RUN);
    store.saveRun({ ...RUN, startedAt: 5000 }, [{ task: 'a', hash: 'h1b', state: 'merged' }]);
    const tasks = store.getTasks('demo');
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ task: 'a', hash: 'h1b', state: 'merged', sessionId: 's-1', costUsd: 0.5, branch: 'swarm/demo/a' });
    expect(tasks[0]).not.toHaveProperty('worktree');
    store.setRunStatus('demo', 'finished', { finishedAt: 9000, costUsd: 1.25 });
    expect(store.getRun('demo')).toMatchObject({ status: 'finished', finishedAt: 9000, costUsd: 1.25 });
  });

  it('writes a transition and its event together, and neither when the task is unknown', () => {
    const store = tempStore();
    store.saveRun(RUN, [{ task: 'a', hash: 'h', state: 'pending' }]);
    store.transition('demo', 'a', 'ready', { readyAt: 2000 }, stateEvent('a', 'pending', 'ready'));
    expect(store.getTasks('demo')[0]).toMatchObject({ state: 'ready', readyAt: 2000 });
    expect(store.events('demo').map((e) => e.event)).toEqual([stateEvent('a', 'pending', 'ready')]);

    expect(() => store.transition('demo', 'ghost', 'ready', {}, stateEvent('ghost', 'pending', 'ready'))).toThrow(/no task ghost/);
    expect(store.events('demo')).toHaveLength(1);
  });

  it('rolls back the task row when the event cannot be written', () => {
    const store = tempStore();
    store.saveRun(RUN, [{ task: 'a', hash: 'h', state: 'pending' }]);
    // A run name of the wrong type makes the event insert fail after the task update ran.
    const bad = { ...stateEvent('a', 'pending', 'ready'), run: null } as unknown as SwarmEvent;
    expect(() => store.transition('demo', 'a', 'ready', {}, bad)).toThrow();
    expect(store.getTasks('demo')[0]!.state).toBe('pending');
  });

  it('records attempts and filters events by task and position', () => {
    const store = tempStore();
    store.saveRun(RUN, [
      { task: 'a', hash: 'h', state: 'pending' },
      { task: 'b', hash: 'h', state: 'pending' },
    ]);
    store.startAttempt('demo', 'a', 1, { startedAt: 100, logFile: '/l/a.1.jsonl' });
    store.finishAttempt('demo', 'a', 1, { endedAt: 200, outcome: 'exit', exitCode: 3 });
    store.startAttempt('demo', 'a', 2, { startedAt: 300 });
    expect(store.attempts('demo', 'a')).toEqual([
      { run: 'demo', task: 'a', attempt: 1, startedAt: 100, endedAt: 200, outcome: 'exit', exitCode: 3, logFile: '/l/a.1.jsonl' },
      { run: 'demo', task: 'a', attempt: 2, startedAt: 300 },
    ]);
    expect(() => store.startAttempt('demo', 'ghost', 1)).toThrow(/FOREIGN KEY/);

    store.appendEvent(stateEvent('a', 'pending', 'ready'));
    store.appendEvent(stateEvent('b', 'pending', 'ready'));
    store.appendEvent({ type: 'log', reason: 'info', run: 'demo', at: 1, message: 'hello' });
    const all = store.events('demo');
    expect(all.map((e) => e.event.type)).toEqual(['task', 'task', 'log']);
    expect(store.events('demo', { task: 'b' }).map((e) => e.event)).toEqual([stateEvent('b', 'pending', 'ready')]);
    expect(store.events('demo', { afterId: all[1]!.id }).map((e) => e.event.type)).toEqual(['log']);
    expect(store.events('demo', { limit: 1 })).toHaveLength(1);
  });

  it('learns durations as a moving average', () => {
    const store = tempStore();
    store.recordDuration('a', 1000);
    expect(store.learntDurations().get('a')).toBe(1000);
    store.recordDuration('a', 2000);
    expect(store.learntDurations().get('a')).toBeCloseTo(1400);
    expect(store.learntDurations().has('b')).toBe(false);
  });
});

describe('findStateDb', () => {
  let repo: TempRepo;
  afterEach(() => repo.cleanup());

  it('finds .swarm/state.db at the main worktree root from a subfolder and from a linked worktree', async () => {
    repo = tempRepo({ 'src/a.ts': 'a\n' });
    const expected = join(repo.dir, '.swarm', 'state.db');
    expect(await findStateDb(join(repo.dir, 'src'))).toBe(expected);
    const linked = join(repo.dir, '.swarm', 'worktrees', 'demo', 'a');
    repo.git('worktree', 'add', '-q', '-b', 'swarm/demo/a', linked);
    expect(await findStateDb(join(linked, 'src'))).toBe(expected);
    expect(await findMainRoot(linked)).toBe(repo.dir);
    // .swarm is excluded locally, once, and never shows up as untracked.
    await findStateDb(repo.dir);
    const exclude = readFileSync(join(repo.dir, '.git', 'info', 'exclude'), 'utf8');
    expect(exclude.match(/^\/\.swarm\/$/gm)).toHaveLength(1);
    expect(repo.git('status', '--porcelain')).toBe('');
  });

  it('says clearly when the folder is not in a repository', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-norepo-'));
    repo = { cleanup: () => rmSync(dir, { recursive: true, force: true }) } as TempRepo;
    await expect(findStateDb(dir)).rejects.toThrow(/not inside a git repository/);
  });
});

describe('discardRun', () => {
  it('drops the run with its tasks, attempts and events, and says what it dropped', () => {
    const store = tempStore();
    store.saveRun(RUN, [{ task: 'a', hash: 'h', state: 'pending' }]);
    store.startAttempt('demo', 'a', 1);
    store.appendEvent({ type: 'log', reason: 'info', run: 'demo', at: 1, message: 'x' });
    expect(store.discardRun('demo')).toBe('1 task, 1 event');
    expect(store.getRun('demo')).toBeUndefined();
    expect(store.getTasks('demo')).toEqual([]);
    expect(store.attempts('demo')).toEqual([]);
    expect(store.events('demo')).toEqual([]);
    expect(store.discardRun('demo')).toBeUndefined();
  });
});
