import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RIG_AGENT = fileURLToPath(new URL('../fixtures/rig-agent.mjs', import.meta.url));

/** What a started agent reports about itself. */
export interface Hello {
  readonly task: string;
  readonly worktree: string;
  /** `git ls-files` in its worktree when it started. */
  readonly files: readonly string[];
  readonly prompt: string;
  readonly pid: number;
}

export interface RigAgent {
  readonly hello: Hello;
  write(path: string, content: string): Promise<void>;
  read(path: string): Promise<string | null>;
  exit(code?: number): void;
}

/**
 * The test's end of the fake agents (wireit's rig idea): every agent swarm starts connects
 * here and waits for orders, so a test can order events without sleeping.
 */
export class AgentRig {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #queue: RigAgent[] = [];
  readonly #waiters: ((a: RigAgent) => void)[] = [];
  /** Agents connected right now, and the most ever at once. */
  live = 0;
  maxLive = 0;
  readonly started: string[] = [];

  private constructor() {
    this.socketPath = join(mkdtempSync(join(tmpdir(), 'swarm-rig-')), 'rig.sock');
    this.#server = createServer((socket) => this.#accept(socket));
  }

  static async start(): Promise<AgentRig> {
    const rig = new AgentRig();
    await new Promise<void>((resolve) => rig.#server.listen(rig.socketPath, resolve));
    return rig;
  }

  /** The argv for `agent.command`. */
  get command(): string[] {
    return [process.execPath, RIG_AGENT];
  }

  /** The next agent to start, in start order. */
  next(): Promise<RigAgent> {
    const a = this.#queue.shift();
    if (a) return Promise.resolve(a);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    socket.setEncoding('utf8');
    let buffer = '';
    let seq = 0;
    const pending = new Map<number, (msg: { content?: string | null }) => void>();
    let agent: RigAgent | undefined;
    let exited = false;
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl)) as { hello?: Hello; ack?: number; content?: string | null };
        buffer = buffer.slice(nl + 1);
        if (msg.hello) {
          this.live++;
          this.maxLive = Math.max(this.maxLive, this.live);
          this.started.push(msg.hello.task);
          const send = (m: object) => socket.write(`${JSON.stringify(m)}\n`);
          const ask = (m: object) =>
            new Promise<{ content?: string | null }>((resolve) => {
              const id = ++seq;
              pending.set(id, resolve);
              send({ ...m, id });
            });
          agent = {
            hello: msg.hello,
            write: async (path, content) => void (await ask({ write: { path, content } })),
            read: async (path) => (await ask({ read: path })).content ?? null,
            // Counted as gone once told to exit: swarm cannot start another in its slot before it really ends,
            // so this never hides a breach of the cap, and never reports a false one.
            exit: (code = 0) => {
              if (!exited) {
                exited = true;
                this.live--;
              }
              send({ exit: code });
            },
          };
          const w = this.#waiters.shift();
          if (w) w(agent);
          else this.#queue.push(agent);
        } else if (msg.ack !== undefined) {
          pending.get(msg.ack)?.(msg);
          pending.delete(msg.ack);
        }
      }
    });
    socket.on('close', () => {
      if (agent && !exited) {
        exited = true;
        this.live--;
      }
    });
  }
}
