import type { Command } from 'commander';
import { execFileSync, spawnSync } from 'node:child_process';
import type { TaskRecord } from '../../engine/ports.js';
import { ACTIVE_STATES } from '../../engine/task-state.js';
import { shellQuote } from '../../hooks/env.js';
import { HOST, type SqliteStore } from '../../store/index.js';
import { EXIT } from '../exit.js';
import { swarmArgv } from '../project.js';
import { openState, pickRun, runnerAlive } from '../run-state.js';

/**
 * `swarm watch [NAME]`: a tmux session `swarm-<run>` with a status pane and one pane per
 * running agent following its log (`swarm logs --follow`). The status pane runs this command
 * again as the controller (`--controller`): it polls state.db, and opens a task's pane when
 * its agent starts and closes it when the task is past its agent and merge.
 */
export function register(program: Command): void {
  program
    .command('watch')
    .description('a tmux session with a pane per running agent, following its log, and a status pane')
    .argument('[name]', 'the run (default: the live one, or the most recent)')
    .option('--no-attach', 'make the session but do not attach to it (print how to)')
    .option('--controller', 'internal: the status pane that opens and closes the panes')
    .addHelpText(
      'after',
      `
Panes appear as tasks start and go as they end. Detach with Ctrl-b d; \`swarm watch\`
again attaches to the same session. Without tmux, follow one task with
\`swarm logs --follow TASK\`. In the TUI of \`swarm run\` inside tmux, \`o\` opens the
selected task's log in a new pane.`,
    )
    .action(async (name: string | undefined, flags: { attach: boolean; controller?: boolean }) => {
      process.exitCode = flags.controller ? await controller(name!) : await watchCommand(name, flags.attach);
    });
}

/** The states in which a task has a pane: its agent works, or its work is on the way in. */
const PANE_STATES = new Set<string>([...ACTIVE_STATES, 'queued', 'merging']);

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function sessionName(run: string): string {
  // tmux reads '.' and ':' in a target as window and pane separators.
  return `swarm-${run.replace(/[.:]/g, '_')}`;
}

/** The shell command that follows one task's log in a pane (kept open after the log ends, until the controller closes it). */
export function followCommand(run: string, task: string): string {
  const swarm = swarmArgv().map(shellQuote).join(' ');
  return `${swarm} logs --follow --run ${shellQuote(run)} ${shellQuote(task)}; while :; do sleep 3600; done`;
}

async function watchCommand(name: string | undefined, attach: boolean): Promise<number> {
  const fail = (message: string, code: number = EXIT.badInput) => {
    process.stderr.write(`swarm watch: ${message}\n`);
    return code;
  };
  const state = await openState(process.cwd());
  if (!state.ok) return fail(state.error);
  const { store, root } = state.value;
  let run: string;
  let running: string[] = [];
  try {
    const live = (store?.listRuns() ?? []).filter((r) => runnerAlive(r, HOST));
    const picked = name === undefined && live.length === 1 ? { ok: true as const, value: live[0]! } : pickRun(store, name);
    if (!picked.ok) return fail(picked.error);
    run = picked.value.name;
    running = (store?.getTasks(run) ?? []).filter((t) => ACTIVE_STATES.has(t.state)).map((t) => t.task);
  } finally {
    store?.close();
  }
  if (!hasTmux()) {
    const example = running[0] ?? 'TASK';
    return fail(
      `tmux is not installed, and swarm watch opens its panes in tmux. Follow one task with: swarm logs --follow --run ${run} ${example}` +
        (running.length > 0 ? ` (running now: ${running.join(', ')})` : ''),
      EXIT.failed,
    );
  }
  const session = sessionName(run);
  if (spawnSync('tmux', ['has-session', '-t', `=${session}`], { stdio: 'ignore' }).status !== 0) {
    const self = [...swarmArgv(), 'watch', run, '--controller'].map(shellQuote).join(' ');
    try {
      const pane = tmux('new-session', '-d', '-P', '-F', '#{pane_id}', '-s', session, '-x', '200', '-y', '50', '-c', root, self).trim();
      tmux('select-pane', '-t', pane, '-T', 'status');
    } catch (error) {
      const why = (error as { stderr?: string }).stderr?.trim() || (error instanceof Error ? error.message : String(error));
      return fail(`tmux could not open the session ${session}: ${why}`, EXIT.failed);
    }
  }
  if (!attach) {
    process.stdout.write(`swarm watch: tmux session ${session} is open; attach with: tmux attach -t ${session}\n`);
    return EXIT.ok;
  }
  if (process.env.TMUX) {
    tmux('switch-client', '-t', `=${session}`);
    return EXIT.ok;
  }
  if (!process.stdout.isTTY) {
    process.stdout.write(`swarm watch: tmux session ${session} is open; attach with: tmux attach -t ${session}\n`);
    return EXIT.ok;
  }
  return spawnSync('tmux', ['attach-session', '-t', `=${session}`], { stdio: 'inherit' }).status ?? EXIT.ok;
}

/** How often the controller looks at state.db. */
const POLL_MS = 500;

async function controller(run: string): Promise<number> {
  const state = await openState(process.cwd());
  if (!state.ok || state.value.store === undefined) {
    process.stderr.write(`swarm watch: ${state.ok ? 'no state.db here' : state.error}\n`);
    return EXIT.badInput;
  }
  const store = state.value.store;
  const session = sessionName(run);
  /** task -> tmux pane id. */
  const panes = new Map<string, string>();
  for (;;) {
    const tasks = store.getTasks(run);
    syncPanes(session, run, tasks, panes);
    render(store, run, tasks, panes);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function syncPanes(session: string, run: string, tasks: readonly TaskRecord[], panes: Map<string, string>): void {
  let alive: Set<string>;
  try {
    alive = new Set(tmux('list-panes', '-t', `=${session}:`, '-F', '#{pane_id}').split('\n').filter(Boolean));
  } catch {
    return;
  }
  for (const [task, pane] of panes) if (!alive.has(pane)) panes.delete(task);
  let changed = false;
  for (const t of tasks) {
    const pane = panes.get(t.task);
    const wanted = PANE_STATES.has(t.state);
    if (wanted && pane === undefined) {
      try {
        const id = tmux('split-window', '-d', '-t', `=${session}:`, '-P', '-F', '#{pane_id}', followCommand(run, t.task)).trim();
        tmux('select-pane', '-t', id, '-T', t.task);
        panes.set(t.task, id);
        changed = true;
      } catch {
        // no room for another pane: the next look tries again, after a tiled layout
        changed = true;
      }
    } else if (!wanted && pane !== undefined) {
      spawnSync('tmux', ['kill-pane', '-t', pane], { stdio: 'ignore' });
      panes.delete(t.task);
      changed = true;
    }
  }
  if (changed) spawnSync('tmux', ['select-layout', '-t', `=${session}:`, 'tiled'], { stdio: 'ignore' });
}

function render(store: SqliteStore, run: string, tasks: readonly TaskRecord[], panes: ReadonlyMap<string, string>): void {
  const rec = store.getRun(run);
  const live = rec !== undefined && runnerAlive(rec, HOST);
  const merged = tasks.filter((t) => t.state === 'merged').length;
  const lines = [
    `swarm watch · run ${run} · ${live ? 'running' : (rec?.status ?? 'unknown')} · ${merged}/${tasks.length} merged`,
    '',
    ...tasks.map((t) => `${panes.has(t.task) ? '▸' : ' '} ${t.task.padEnd(24)} ${t.state.padEnd(10)} ${t.attempts > 0 ? `attempt ${t.attempts}` : ''}`),
    '',
    'one pane per running agent; they come and go with their tasks.',
    'swarm msg TASK "..." · swarm stop TASK · swarm retry TASK · Ctrl-b d detaches',
  ];
  process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
}
