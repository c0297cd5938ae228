/**
 * The runner's side of steering a live run: it polls state.db and the tasks' outboxes,
 * passes messages on, answers `swarm stop` / `swarm retry`, and is the engine's Inbox (what
 * goes into prompts; the env and hooks that let an agent receive and send messages).
 * Everything it learns becomes an event, stored and handed to the reporters.
 */
import { appendFileSync, chmodSync, mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../config/spec.js';
import type { SwarmEvent } from '../engine/events.js';
import type { Inbox, InboxMessage } from '../engine/ports.js';
import { TERMINAL_STATES } from '../engine/task-state.js';
import { claudeSettingsJson, ENV, shellQuote } from '../hooks/env.js';
import { outboxPath, readOutbox } from '../hooks/outbox.js';
import { type MessageRecord, type SqliteStore, senderName } from '../store/index.js';
import type { Result } from '../util/result.js';

export interface SteeringOptions {
  readonly spec: Spec;
  readonly store: SqliteStore;
  /** `.swarm/`. */
  readonly stateDir: string;
  /** How to start swarm (for the agents' `swarm` command and the message hook). */
  readonly swarmArgv: readonly string[];
  /** The engine's two entry points for `swarm stop` and `swarm retry`. */
  readonly control: { stopTask(id: string): Result<string, string>; retryTask(id: string): Result<string, string> };
  /** To the reporters (the events are stored here too). */
  readonly tell: (event: SwarmEvent) => void;
  /** How often to look at state.db and the outboxes. @default 300 */
  readonly intervalMs?: number;
}

export class Steering implements Inbox {
  readonly #o: SteeringOptions;
  readonly #run: string;
  readonly #offsets = new Map<string, number>();
  readonly #settingsJson: string;
  readonly #binDir: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SteeringOptions) {
    this.#o = options;
    this.#run = options.spec.name;
    this.#settingsJson = claudeSettingsJson(options.swarmArgv, { messages: true });
    this.#binDir = writeSwarmShim(options.stateDir, options.swarmArgv);
  }

  /** What an earlier runner left in the outboxes is taken in, the outboxes emptied, then polling starts. */
  start(): void {
    this.tick();
    for (const t of this.#o.spec.tasks) {
      const path = outboxPath(this.#o.stateDir, this.#run, t.id);
      try {
        truncateSync(path, 0);
      } catch {
        // none yet
      }
      this.#offsets.set(t.id, 0);
    }
    this.#timer = setInterval(() => this.tick(), this.#o.intervalMs ?? 300);
  }

  /** Stops polling, after a last look (a message sent just before the run ended is still told). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.tick();
  }

  tick(): void {
    try {
      for (const t of this.#o.spec.tasks) this.#readOutbox(t.id);
      for (const m of this.#o.store.messages.announce(this.#run)) this.#announce(m);
      for (const r of this.#o.store.messages.pendingRequests(this.#run)) {
        const result = r.action === 'stop' ? this.#o.control.stopTask(r.task) : this.#o.control.retryTask(r.task);
        const detail = result.ok ? result.value : result.error;
        this.#o.store.messages.answerRequest(r.id, result.ok, detail);
        this.#emit({ type: 'control', reason: r.action, task: r.task, by: r.sender, done: result.ok, detail, run: this.#run, at: Date.now() });
      }
    } catch (error) {
      // A busy database or a bad line must not take the run down: the next tick tries again.
      this.#emit({
        type: 'log',
        reason: 'warning',
        message: `steering: ${error instanceof Error ? error.message : String(error)}`,
        run: this.#run,
        at: Date.now(),
      });
    }
  }

  // -------------------------------------------------------------------------- Inbox

  take(run: string, task: string): readonly InboxMessage[] {
    const taken = this.#o.store.messages.takeForPrompt(run, task);
    for (const m of taken) {
      this.#emit({ type: 'message', reason: 'delivered', task, id: m.id, how: 'prompt', run, at: Date.now() });
    }
    return taken.map((m) => ({ id: m.id, from: senderName(m), text: m.body }));
  }

  notes(run: string, task: string): readonly string[] {
    return this.#o.store.messages.notesFrom(run, task).map((m) => m.body);
  }

  wiring(run: string, task: string): { env: Record<string, string>; settingsJson?: string } {
    return {
      env: {
        [ENV.stateDb]: join(this.#o.stateDir, 'state.db'),
        [ENV.run]: run,
        [ENV.task]: task,
        [ENV.outbox]: outboxPath(this.#o.stateDir, run, task),
        // `swarm msg` / `swarm note` in the agent's shell run this very swarm.
        PATH: `${this.#binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      },
      settingsJson: this.#settingsJson,
    };
  }

  // -------------------------------------------------------------------------- polling

  #readOutbox(task: string): void {
    const path = outboxPath(this.#o.stateDir, this.#run, task);
    const { entries, offset } = readOutbox(path, this.#offsets.get(task) ?? 0);
    this.#offsets.set(task, offset);
    const messages = this.#o.store.messages;
    for (const e of entries) {
      switch (e.kind) {
        case 'ack':
          for (const m of messages.markDelivered(e.ids, 'hook')) {
            // Only the task's own messages: an outbox speaks for its task alone.
            if (m.to !== task) continue;
            this.#emit({ type: 'message', reason: 'delivered', task, id: m.id, how: 'hook', run: this.#run, at: e.at });
            this.#logLine(task, `delivered at a tool call: message #${m.id} from ${senderName(m)}`);
          }
          break;
        case 'msg': {
          const why = this.#refusal(e.to);
          if (why !== undefined) {
            this.#emit({ type: 'message', reason: 'refused', task, id: 0, from: task, text: e.body, detail: why, run: this.#run, at: e.at });
            break;
          }
          messages.send({ run: this.#run, kind: 'message', fromTask: task, to: e.to, body: e.body, at: e.at });
          break;
        }
        case 'note':
          messages.send({ run: this.#run, kind: 'note', fromTask: task, body: e.body, at: e.at });
          break;
      }
    }
  }

  /** Why a message to `to` cannot be passed on; undefined when it can. */
  #refusal(to: string): string | undefined {
    const rec = this.#o.store.getTasks(this.#run).find((t) => t.task === to);
    if (rec === undefined) return `no task ${to} in run ${this.#run}`;
    if (TERMINAL_STATES.has(rec.state)) return `task ${to} has ended (${rec.state})`;
    return undefined;
  }

  #announce(m: MessageRecord): void {
    const base = { id: m.id, run: this.#run, at: m.at };
    if (m.kind === 'note') {
      if (m.fromTask === undefined) return;
      this.#emit({ ...base, type: 'message', reason: 'note', task: m.fromTask, text: m.body });
      this.#logLine(m.fromTask, `note for dependents: ${m.body}`);
      return;
    }
    if (m.to === undefined) return;
    const from = m.fromTask ?? m.sender ?? 'someone';
    this.#emit({ ...base, type: 'message', reason: 'sent', task: m.to, from, ...(m.fromTask === undefined ? { person: true as const } : {}), text: m.body });
    this.#logLine(m.to, `from ${senderName(m)}: ${m.body}`);
    if (m.fromTask !== undefined) this.#logLine(m.fromTask, `to task ${m.to}: ${m.body}`);
  }

  /** Into the task's latest log, so `swarm logs` (and `swarm watch`'s panes) show messages where they happened. */
  #logLine(task: string, line: string): void {
    const attempt = this.#o.store.attempts(this.#run, task).at(-1);
    if (attempt?.logFile === undefined) return;
    try {
      appendFileSync(attempt.logFile, `${JSON.stringify({ t: Date.now(), stream: 'message', line })}\n`);
    } catch {
      // the log is best effort; the event has it
    }
  }

  #emit(event: SwarmEvent): void {
    this.#o.store.appendEvent(event);
    this.#o.tell(event);
  }
}

/** `.swarm/bin/swarm`: this swarm, for the agents' shells (put first on their PATH). Returns the folder. */
function writeSwarmShim(stateDir: string, argv: readonly string[]): string {
  const dir = join(stateDir, 'bin');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'swarm');
  const content = `#!/bin/sh\n# Written by swarm: the swarm of the run, for its agents (swarm msg, swarm note).\nexec ${argv.map(shellQuote).join(' ')} "$@"\n`;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== content) {
    // Several runs may write it at once: aside, then rename, so no shell runs half a script.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, content, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  }
  return dir;
}
