import { EventEmitter } from 'node:events';

/** Enough of a TTY write stream for Ink: size, isTTY, resize events; keeps what it was sent. */
export class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  columns: number;
  rows: number;
  output = '';
  writes = 0;

  constructor(columns = 80, rows = 24) {
    super();
    this.columns = columns;
    this.rows = rows;
  }

  write = (chunk: string | Uint8Array): boolean => {
    this.output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.writes += 1;
    return true;
  };

  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }

  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}

/** Enough of a TTY read stream for Ink's raw-mode key reading. */
export class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  rawMode = false;
  #pending: string[] = [];

  /** Types keys, as a person would. */
  type(data: string): void {
    this.#pending.push(data);
    this.emit('readable');
  }

  read = (): string | null => this.#pending.shift() ?? null;
  setEncoding(): this {
    return this;
  }
  setRawMode(mode: boolean): this {
    this.rawMode = mode;
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  asStream(): NodeJS.ReadStream {
    return this as unknown as NodeJS.ReadStream;
  }
}

/** Polls until `check` passes or `ms` runs out; the last failure is the error. */
export async function waitFor(check: () => void, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
