import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { TERMINAL_STATES, type TaskState } from '../../engine/task-state.js';
import { ENV } from '../../hooks/env.js';
import { appendOutbox } from '../../hooks/outbox.js';
import { HOST, pidAlive, readRunSnapshot, type RequestAction, type SqliteStore } from '../../store/index.js';
import { err, ok, type Result } from '../../util/result.js';
import { EXIT } from '../exit.js';
import { openState, runnerAlive } from '../run-state.js';

/**
 * `swarm msg`, `swarm note`, `swarm stop`, `swarm retry`: a person in another terminal, or an
 * agent in its shell, talking to a live run. They only write state.db (or, from an agent's
 * shell, its task's outbox); the run's runner polls and acts (src/cli/steer.ts).
 */
export function register(program: Command): void {
  program
    .command('msg')
    .description("a message to a running (or queued) task's agent, from you or from another agent")
    .argument('<task>', 'the task to tell')
    .argument('<text...>', 'what to say')
    .option('--run <name>', 'the run (default: the one live run)')
    .option('--from <name>', 'who you are (default: your user name; inside an agent: its task)')
    .addHelpText(
      'after',
      `
A claude agent gets it at its next tool call; a codex or command agent with its next
attempt's prompt. From an agent's shell the sender is its task. Refused (exit 1) for a
task that has ended or a run that is not running.

Examples:
  swarm msg api "keep the old /v1 routes; the mobile app still calls them"
  swarm msg auth "export parseToken from src/auth/token.ts, please"   # from an agent`,
    )
    .action(async (task: string, words: string[], flags: { run?: string; from?: string }) => {
      process.exitCode = await msgCommand(task, words.join(' '), flags);
    });
  program
    .command('note')
    .description("from an agent's shell: a note for the tasks that depend on this one (added to their prompts)")
    .argument('<text...>', 'what they need to know')
    .action(async (words: string[]) => {
      process.exitCode = await noteCommand(words.join(' '));
    });
  for (const action of ['stop', 'retry'] as const) {
    program
      .command(action)
      .description(
        action === 'stop'
          ? "stop one task's agent in the live run; it ends cancelled (resumable) and the rest goes on"
          : 'run a failed, conflicted or stopped task again in the live run',
      )
      .argument('<task>', 'the task')
      .option('--run <name>', 'the run (default: the one live run)')
      .action(async (task: string, flags: { run?: string }) => {
        process.exitCode = await requestCommand(action, task, flags);
      });
  }
}

/** The environment of an agent's process: its run, task, state.db and outbox. */
function agentContext(): { run: string; task: string; db: string; outbox?: string } | undefined {
  const run = process.env[ENV.run];
  const task = process.env[ENV.task];
  const db = process.env[ENV.stateDb];
  if (!run || !task || !db) return undefined;
  const outbox = process.env[ENV.outbox];
  return { run, task, db, ...(outbox ? { outbox } : {}) };
}

async function msgCommand(to: string, text: string, flags: { run?: string; from?: string }): Promise<number> {
  const fail = (message: string, code: number = EXIT.failed) => {
    process.stderr.write(`swarm msg: ${message}\n`);
    return code;
  };
  if (text.trim() === '') return fail('expected the text of the message after the task', EXIT.badInput);
  const agent = agentContext();
  if (agent !== undefined && (flags.run === undefined || flags.run === agent.run)) {
    if (to === agent.task) return fail(`you are task ${to}: a message to yourself goes nowhere`, EXIT.badInput);
    const refusal = checkTarget(() => readRunSnapshot(agent.db, agent.run), agent.run, to);
    if (refusal !== undefined) return fail(refusal);
    if (agent.outbox === undefined) return fail(`${ENV.outbox} is not set: this shell is not a swarm agent's`, EXIT.badInput);
    appendOutbox(agent.outbox, { kind: 'msg', to, body: text, at: Date.now() });
    process.stdout.write(`swarm msg: sent to task ${to} (from task ${agent.task}); it sees it at its next tool call or in its next prompt\n`);
    return EXIT.ok;
  }
  const opened = await openLiveRun(flags.run);
  if (!opened.ok) return fail(opened.error, opened.error.startsWith('no live run') ? EXIT.failed : EXIT.badInput);
  const { store, run } = opened.value;
  try {
    const refusal = checkTarget(() => snapshotOf(store, run), run, to);
    if (refusal !== undefined) return fail(refusal);
    const sender = flags.from ?? whoami();
    const m = store.messages.send({ run, kind: 'message', sender, to, body: text });
    process.stdout.write(`swarm msg: sent to task ${to} (#${m.id}, from ${sender}); it sees it at its next tool call or in its next prompt\n`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}

async function noteCommand(text: string): Promise<number> {
  const agent = agentContext();
  if (agent?.outbox === undefined) {
    process.stderr.write(
      `swarm note: run it from a swarm agent's shell (${ENV.task} and ${ENV.outbox} are not set); to tell a task something, use swarm msg TASK TEXT\n`,
    );
    return EXIT.badInput;
  }
  if (text.trim() === '') {
    process.stderr.write('swarm note: expected the text of the note\n');
    return EXIT.badInput;
  }
  appendOutbox(agent.outbox, { kind: 'note', body: text, at: Date.now() });
  process.stdout.write(`swarm note: left for the tasks that depend on ${agent.task}; it goes into their prompts\n`);
  return EXIT.ok;
}

/** How long `swarm stop` / `swarm retry` wait for the runner's answer (it polls several times a second). */
const ANSWER_WAIT_MS = 20_000;

async function requestCommand(action: RequestAction, task: string, flags: { run?: string }): Promise<number> {
  const fail = (message: string, code: number = EXIT.failed) => {
    process.stderr.write(`swarm ${action}: ${message}\n`);
    return code;
  };
  const opened = await openLiveRun(flags.run);
  if (!opened.ok) return fail(opened.error, opened.error.startsWith('no live run') ? EXIT.failed : EXIT.badInput);
  const { store, run } = opened.value;
  try {
    const snapshot = snapshotOf(store, run);
    if (!snapshot.tasks.has(task)) return fail(`no task ${task} in run ${run} (tasks: ${[...snapshot.tasks.keys()].sort().join(', ')})`, EXIT.badInput);
    const sender = process.env[ENV.task] ? `task ${process.env[ENV.task]}` : whoami();
    const request = store.messages.request({ run, task, action, sender });
    const deadline = Date.now() + ANSWER_WAIT_MS;
    for (;;) {
      const now = store.messages.getRequest(request.id);
      if (now?.handledAt !== undefined) {
        if (!now.ok) return fail(`refused: ${now.detail ?? 'no reason given'}`);
        process.stdout.write(`swarm ${action}: ${now.detail ?? 'done'}\n`);
        return EXIT.ok;
      }
      if (Date.now() > deadline)
        return fail(`the runner of ${run} has not answered in ${ANSWER_WAIT_MS / 1000}s; the request stays, and it acts on it when it looks next`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    store.close();
  }
}

/** Why `to` cannot take a message now; undefined when it can. */
function checkTarget(read: () => ReturnType<typeof readRunSnapshot>, run: string, to: string): string | undefined {
  let snapshot: ReturnType<typeof readRunSnapshot>;
  try {
    snapshot = read();
  } catch (error) {
    return `cannot read the run's state: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (snapshot === undefined) return `no run named ${run}`;
  const live = snapshot.status === 'running' && (snapshot.host !== HOST || pidAlive(snapshot.pid, snapshot.pidStart));
  if (!live) return `the run ${run} is not running (${snapshot.status}); a message reaches only a task of a live run`;
  const state = snapshot.tasks.get(to);
  if (state === undefined) return `no task ${to} in run ${run} (tasks: ${[...snapshot.tasks.keys()].sort().join(', ')})`;
  if (TERMINAL_STATES.has(state as TaskState)) return `task ${to} is ${state}, not running or queued: it can take no message`;
  return undefined;
}

function snapshotOf(store: SqliteStore, run: string): NonNullable<ReturnType<typeof readRunSnapshot>> {
  const rec = store.getRun(run)!;
  return {
    status: rec.status,
    pid: rec.pid,
    ...(rec.pidStart !== undefined ? { pidStart: rec.pidStart } : {}),
    host: rec.host,
    tasks: new Map(store.getTasks(run).map((t) => [t.task, t.state])),
  };
}

/** The store and the live run: `--run NAME` (or the agent's own run), else the one run whose runner is alive. */
async function openLiveRun(name: string | undefined): Promise<Result<{ store: SqliteStore; run: string }, string>> {
  const state = await openState(process.cwd());
  if (!state.ok) return err(state.error);
  const store = state.value.store;
  if (store === undefined) return err('no live run: swarm has not run in this repository yet');
  const wanted = name ?? process.env[ENV.run];
  const runs = store.listRuns();
  if (wanted !== undefined) {
    const run = runs.find((r) => r.name === wanted);
    if (run === undefined) {
      store.close();
      return err(
        `no run named ${wanted} (runs: ${
          runs
            .map((r) => r.name)
            .sort()
            .join(', ') || 'none'
        })`,
      );
    }
    if (!runnerAlive(run, HOST)) {
      store.close();
      return err(`no live run named ${wanted}: it is ${run.status === 'running' ? 'not running (its runner is gone)' : run.status}; \`swarm run\` resumes it`);
    }
    return ok({ store, run: run.name });
  }
  const live = runs.filter((r) => runnerAlive(r, HOST));
  if (live.length === 1) return ok({ store, run: live[0]!.name });
  store.close();
  if (live.length === 0) return err('no live run in this repository (start one with `swarm run`)');
  return err(
    `several runs are live (${live
      .map((r) => r.name)
      .sort()
      .join(', ')}): name one with --run`,
  );
}

function whoami(): string {
  try {
    return process.env.USER || userInfo().username || 'someone';
  } catch {
    return 'someone';
  }
}
