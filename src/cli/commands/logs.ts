import type { Command } from 'commander';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { RunRecord } from '../../engine/ports.js';
import { HOST, type SqliteStore } from '../../store/index.js';
import { EXIT } from '../exit.js';
import { renderLogLine } from '../log-render.js';
import { openState, pickRun, runnerAlive } from '../run-state.js';

interface LogsFlags {
  run?: string;
  attempt?: string;
  follow?: boolean;
  raw?: boolean;
}

/** How often `--follow` looks at the file and the store. */
const POLL_MS = 200;
/** States in which a task's current attempt may still write to its log. */
const WRITING = new Set(['pending', 'ready', 'waiting', 'starting', 'running', 'checking', 'resolving']);

export function register(program: Command): void {
  program
    .command('logs')
    .description("a task's agent transcript and its check output, rendered readably")
    .argument('<task>', 'the task id')
    .option('--run <name>', 'the run (default: the only run, or the most recent one)')
    .option('--attempt <n>', 'which attempt (default: the latest)')
    .option('-f, --follow', "keep printing as the log grows, until the task's attempt ends")
    .option('--raw', 'print the JSONL as it is stored')
    .addHelpText(
      'after',
      `
Examples:
  swarm logs auth                 # the latest attempt of task auth
  swarm logs auth --attempt 1 --raw | jq .
  swarm logs api --follow

Claude transcripts show tool uses as "→ Edit src/x.ts", tool results abbreviated ("←"),
the agent's text, and the final result with its cost and turns. Lines marked "check │" and
"setup │" are the output of the task's check and setup commands.`,
    )
    .action(async (task: string, flags: LogsFlags) => {
      process.exitCode = await logsCommand(task, flags);
    });
}

async function logsCommand(taskId: string, flags: LogsFlags): Promise<number> {
  const fail = (message: string, code: number = EXIT.badInput) => {
    process.stderr.write(`swarm logs: ${message}\n`);
    return code;
  };
  let wanted: number | undefined;
  if (flags.attempt !== undefined) {
    wanted = Number(flags.attempt);
    if (!Number.isInteger(wanted) || wanted < 1) return fail(`--attempt: expected a positive integer, got "${flags.attempt}"`);
  }
  const state = await openState(process.cwd());
  if (!state.ok) return fail(state.error);
  const { store, stateDir } = state.value;
  try {
    const picked = pickRun(store, flags.run);
    if (!picked.ok) return fail(picked.error);
    const run = picked.value;
    const tasks = store!.getTasks(run.name);
    let rec = tasks.find((t) => t.task === taskId);
    if (rec === undefined) {
      return fail(
        `no task ${JSON.stringify(taskId)} in run ${run.name} (tasks: ${
          tasks
            .map((t) => t.task)
            .sort()
            .join(', ') || 'none'
        })`,
      );
    }
    if (wanted !== undefined && wanted > rec.attempts) {
      return fail(
        `task ${taskId} has ${rec.attempts === 0 ? 'not run yet' : `run ${rec.attempts} attempt${rec.attempts === 1 ? '' : 's'} (1..${rec.attempts})`}; no attempt ${wanted}`,
      );
    }
    // Following a task that has not started: wait for its first attempt.
    while (flags.follow && wanted === undefined && rec.attempts === 0 && WRITING.has(rec.state) && alive(store!, run)) {
      await delay(POLL_MS);
      rec = store!.getTasks(run.name).find((t) => t.task === taskId) ?? rec;
    }
    if (rec.attempts === 0) {
      process.stderr.write(`swarm logs: task ${taskId} has not run yet (${rec.state}${rec.detail ? `: ${rec.detail}` : ''})\n`);
      return EXIT.ok;
    }
    const n = wanted ?? rec.attempts;
    const attempt = store!.attempts(run.name, taskId).find((a) => a.attempt === n);
    const file = attempt?.logFile ?? join(stateDir, 'logs', run.name, `${taskId}.${n}.jsonl`);
    const worktree = rec.worktree ?? '';
    if (!flags.raw) {
      const how = attempt?.outcome ?? (attempt?.endedAt === undefined && n === rec.attempts ? rec.state : 'unknown');
      process.stdout.write(`── ${taskId} · attempt ${n} of ${rec.attempts} · ${how}${attempt?.detail ? ` (${attempt.detail})` : ''} ──\n`);
    }
    const tail = new Tail(file);
    const emit = (lines: string[]) => {
      for (const line of lines) {
        if (flags.raw) process.stdout.write(`${line}\n`);
        else for (const out of renderLogLine(line, worktree)) process.stdout.write(`${out}\n`);
      }
    };
    emit(tail.read(!flags.follow));
    if (!flags.follow) {
      if (!existsSync(file)) process.stderr.write(`swarm logs: no log at ${file} yet\n`);
      return EXIT.ok;
    }
    for (;;) {
      const ended = attemptEnded(store!, run, taskId, n);
      emit(tail.read());
      if (ended) break;
      await delay(POLL_MS);
    }
    emit(tail.read(true));
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

/** The attempt is over: it has an end, the task stopped writing, a later attempt began, or no runner is left to write. */
function attemptEnded(store: SqliteStore, run: RunRecord, task: string, n: number): boolean {
  const rec = store.getTasks(run.name).find((t) => t.task === task);
  if (rec === undefined || rec.attempts > n || !WRITING.has(rec.state)) return true;
  const attempt = store.attempts(run.name, task).find((a) => a.attempt === n);
  if (attempt?.endedAt !== undefined) return true;
  return !alive(store, run);
}

function alive(store: SqliteStore, run: RunRecord): boolean {
  const now = store.getRun(run.name);
  return now !== undefined && runnerAlive(now, HOST);
}

/** Reads whole lines appended to a file since the last read. */
class Tail {
  #offset = 0;
  #partial = '';
  // A read may end inside a multi-byte character; the decoder keeps it for the next one.
  readonly #decoder = new StringDecoder('utf8');
  constructor(readonly file: string) {}

  read(flush = false): string[] {
    if (existsSync(this.file)) {
      const size = statSync(this.file).size;
      if (size > this.#offset) {
        const fd = openSync(this.file, 'r');
        try {
          const buf = Buffer.alloc(size - this.#offset);
          const got = readSync(fd, buf, 0, buf.length, this.#offset);
          this.#offset += got;
          this.#partial += this.#decoder.write(buf.subarray(0, got));
        } finally {
          closeSync(fd);
        }
      }
    }
    const lines = this.#partial.split('\n');
    this.#partial = lines.pop() ?? '';
    if (flush && this.#partial !== '') {
      lines.push(this.#partial);
      this.#partial = '';
    }
    return lines.filter((l) => l !== '');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
