import type { SwarmEvent, TaskInfo } from '../../src/engine/events.js';
import type { TaskState } from '../../src/engine/task-state.js';
import { TuiStore } from '../../src/tui/store.js';

/** A fixed wall clock, so elapsed times in snapshots never move. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const RUN = 'api-refactor';

function info(id: string, title: string, dependsOn: string[] = [], state: TaskState = 'pending'): TaskInfo {
  return { id, title, dependsOn, files: [`src/${id}/**`], state };
}

type Payload<E> = E extends SwarmEvent ? Omit<E, 'run' | 'at'> : never;

/** Builds events of one run; `at` is seconds after T0. */
export function ev(at: number, payload: Payload<SwarmEvent>): SwarmEvent {
  return { run: RUN, at: T0 + at * 1000, ...payload } as SwarmEvent;
}

export function started(tasks: readonly TaskInfo[], concurrency = 4): SwarmEvent {
  return ev(0, { type: 'run', reason: 'started', into: `swarm/${RUN}`, base: 'abc1234', concurrency, resumed: false, tasks });
}

export function state(at: number, task: string, from: TaskState, to: TaskState, attempt = 1, detail?: string): SwarmEvent {
  return ev(at, { type: 'task', reason: 'state', task, from, to, attempt, ...(detail === undefined ? {} : { detail }) });
}

/** The tasks of the sample run, in file order. */
export const TASKS: readonly TaskInfo[] = [
  info('db', 'Move the db layer to the pool API'),
  info('auth', 'Move auth to async/await', ['db']),
  info('api', 'Split the API router by resource', ['db']),
  info('web', 'Port the web handlers to the new router', ['api']),
  info('cli', 'Add --json to every CLI command'),
  info('search', 'Replace the search index with sqlite FTS', ['db']),
  info('docs', 'Document the new API', ['api', 'web']),
  info('ui', 'Refresh the settings page', ['web']),
];

/** A run three minutes in: one merged, several working, one failed, one blocked, a rate limit. */
export function sampleEvents(): SwarmEvent[] {
  return [
    started(TASKS),
    state(1, 'db', 'pending', 'ready'),
    state(1, 'cli', 'pending', 'ready'),
    state(2, 'db', 'ready', 'starting'),
    ev(2, { type: 'lease', reason: 'acquired', task: 'db', token: 1, globs: ['src/db/**'] }),
    state(3, 'cli', 'ready', 'starting'),
    ev(3, { type: 'lease', reason: 'acquired', task: 'cli', token: 2, globs: ['src/cli/**', 'test/cli/**'] }),
    state(5, 'db', 'starting', 'running'),
    ev(5, { type: 'agent', reason: 'spawned', task: 'db', attempt: 1, pid: 4242, argv: ['claude', '-p'] }),
    ev(8, { type: 'agent', reason: 'tool', task: 'db', attempt: 1, tool: 'Edit', summary: 'src/db/pool.ts' }),
    ev(30, { type: 'agent', reason: 'exited', task: 'db', attempt: 1, ok: true, exitCode: 0, signal: null, costUsd: 0.52, turns: 9 }),
    state(31, 'db', 'running', 'checking'),
    ev(31, { type: 'check', reason: 'started', scope: 'task', task: 'db', attempt: 1, command: 'npm test' }),
    ev(40, { type: 'check', reason: 'passed', scope: 'task', task: 'db', attempt: 1, command: 'npm test', exitCode: 0, tail: '' }),
    state(40, 'db', 'checking', 'queued'),
    ev(40, { type: 'lease', reason: 'released', task: 'db', token: 1, globs: ['src/db/**'] }),
    ev(40, { type: 'merge', reason: 'queued', task: 'db' }),
    state(41, 'db', 'queued', 'merging'),
    ev(41, { type: 'merge', reason: 'started', task: 'db' }),
    ev(44, { type: 'merge', reason: 'merged', task: 'db', commit: '9f8e7d6c5b4a39281706' }),
    state(44, 'db', 'merging', 'merged'),
    state(44, 'auth', 'pending', 'ready'),
    state(44, 'api', 'pending', 'ready'),
    state(44, 'search', 'pending', 'ready'),
    state(45, 'auth', 'ready', 'starting'),
    ev(45, { type: 'lease', reason: 'acquired', task: 'auth', token: 3, globs: ['src/auth/**'] }),
    state(46, 'auth', 'starting', 'running'),
    state(46, 'api', 'ready', 'starting'),
    ev(46, { type: 'lease', reason: 'acquired', task: 'api', token: 4, globs: ['src/api/**'] }),
    state(47, 'search', 'ready', 'waiting', 1, 'files held by api'),
    state(47, 'api', 'starting', 'running'),
    ev(50, { type: 'agent', reason: 'output', task: 'auth', attempt: 1, text: 'Reading the auth module first.\nThere are 14 callbacks.' }),
    ev(60, { type: 'agent', reason: 'exited', task: 'auth', attempt: 1, ok: true, exitCode: 0, signal: null, costUsd: 0.41, turns: 12 }),
    state(61, 'auth', 'running', 'checking'),
    ev(61, { type: 'check', reason: 'started', scope: 'task', task: 'auth', attempt: 1, command: 'npm test -- auth' }),
    ev(70, {
      type: 'check',
      reason: 'failed',
      scope: 'task',
      task: 'auth',
      attempt: 1,
      command: 'npm test -- auth',
      exitCode: 1,
      tail: 'FAIL test/auth/login.test.ts\n  expected 200, got 401\n',
    }),
    state(70, 'auth', 'checking', 'running', 2, 'check failed; retrying'),
    ev(72, { type: 'agent', reason: 'tool', task: 'auth', attempt: 2, tool: 'Edit', summary: 'src/auth/login.ts' }),
    state(80, 'cli', 'starting', 'running'),
    ev(90, {
      type: 'agent',
      reason: 'exited',
      task: 'cli',
      attempt: 1,
      ok: false,
      exitCode: 1,
      signal: null,
      costUsd: 0.2,
      turns: 4,
      message: 'max turns reached',
    }),
    state(90, 'cli', 'running', 'failed', 1, 'agent failed: max turns reached'),
    ev(90, { type: 'lease', reason: 'released', task: 'cli', token: 2, globs: ['src/cli/**', 'test/cli/**'] }),
    ev(100, { type: 'agent', reason: 'tool', task: 'api', attempt: 1, tool: 'Bash', summary: 'npm test -- api' }),
    ev(150, { type: 'agent', reason: 'exited', task: 'api', attempt: 1, ok: true, exitCode: 0, signal: null, costUsd: 1.1, turns: 20 }),
    state(151, 'api', 'running', 'checking'),
    ev(151, { type: 'check', reason: 'started', scope: 'task', task: 'api', attempt: 1, command: 'npm test -- api' }),
    ev(185, { type: 'agent', reason: 'api-retry', task: 'auth', attempt: 2, retryAttempt: 2, delayMs: 20_000, error: 'API overloaded (HTTP 529)' }),
    ev(186, { type: 'limit', reason: 'lowered', concurrency: 2, max: 4 }),
  ];
}

/** A store that has seen `events`, reading the fixed clock `T0 + nowSeconds`. */
export function storeFrom(events: readonly SwarmEvent[], nowSeconds = 192): TuiStore {
  const store = new TuiStore({ now: () => T0 + nowSeconds * 1000 });
  for (const event of events) store.handle(event);
  store.dispose();
  return store;
}

/** The sample run carried to its end: auth fails its check, web is blocked, the user stops. */
export function finishedEvents(): SwarmEvent[] {
  return [
    ...sampleEvents(),
    ev(200, {
      type: 'check',
      reason: 'failed',
      scope: 'task',
      task: 'auth',
      attempt: 2,
      command: 'npm test -- auth',
      exitCode: 1,
      tail: 'expected 200, got 401',
    }),
    state(200, 'auth', 'checking', 'failed', 2),
    ev(205, { type: 'check', reason: 'passed', scope: 'task', task: 'api', attempt: 1, command: 'npm test -- api', exitCode: 0, tail: '' }),
    state(205, 'api', 'checking', 'queued'),
    ev(205, { type: 'merge', reason: 'queued', task: 'api' }),
    state(206, 'api', 'queued', 'merging'),
    ev(208, { type: 'merge', reason: 'merged', task: 'api', commit: '0123456789abcdef' }),
    state(208, 'api', 'merging', 'merged'),
    state(209, 'web', 'pending', 'ready'),
    state(209, 'search', 'waiting', 'starting'),
    state(210, 'web', 'ready', 'starting'),
    state(211, 'web', 'starting', 'running'),
    ev(240, { type: 'merge', reason: 'conflict', task: 'web', files: ['src/api/router.ts'] }),
    state(240, 'web', 'running', 'failed', 1, 'merge conflict in src/api/router.ts (on_conflict: fail)'),
    state(240, 'docs', 'pending', 'blocked', 0, 'blocked by web'),
    state(240, 'ui', 'pending', 'blocked', 0, 'blocked by web'),
    ev(250, { type: 'run', reason: 'stopping', force: false }),
    state(251, 'search', 'starting', 'cancelled', 1),
    ev(252, { type: 'run', reason: 'finished', outcome: 'failed', merged: 2, total: 8, costUsd: 3.1, durationMs: 252_000 }),
  ];
}

/** `count` tasks named t001..., the first `running` of them running, the rest pending. */
export function bigRun(count: number, running: number): SwarmEvent[] {
  const tasks = Array.from({ length: count }, (_, i) => info(`t${String(i + 1).padStart(3, '0')}`, `Task number ${i + 1} of the big run`));
  const events: SwarmEvent[] = [started(tasks, running)];
  for (const task of tasks.slice(0, running)) {
    events.push(state(1, task.id, 'pending', 'running'));
    events.push(ev(2, { type: 'lease', reason: 'acquired', task: task.id, token: 1, globs: task.files }));
    events.push(ev(3, { type: 'agent', reason: 'tool', task: task.id, attempt: 1, tool: 'Read', summary: `src/${task.id}/index.ts` }));
  }
  return events;
}
