/**
 * How much of an agent's printed output becomes event rows in state.db. The agent's log
 * file keeps every byte (src/agents/process.ts writes it raw); the store keeps the first
 * `rows` lines or `chars` characters of text of each attempt, each line clipped to `line` characters,
 * and then one row that says how much more there was. An agent that prints 67 MB once
 * grew state.db to 127 MB, one row per line, and slowed every writer sharing it.
 */
export interface OutputLimits {
  /** Output rows stored per attempt. @default 500 */
  readonly rows: number;
  /** Characters of output text stored per attempt (about bytes, for ASCII). @default 262144 */
  readonly chars: number;
  /** A longer line is clipped, in the store and in the live stream alike. @default 4000 */
  readonly line: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { rows: 500, chars: 256 * 1024, line: 4000 };

interface Tally {
  rows: number;
  bytes: number;
  elidedLines: number;
  elidedBytes: number;
}

export class OutputBudget {
  readonly #limits: OutputLimits;
  readonly #tallies = new Map<string, Tally>();

  constructor(limits: OutputLimits = DEFAULT_OUTPUT_LIMITS) {
    this.#limits = limits;
  }

  /** The line as it may be stored or shown: a huge one keeps its start and says how much was cut. */
  clip(text: string): string {
    const max = this.#limits.line;
    return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters in the log file]`;
  }

  /** Whether this (clipped) line of `key`'s attempt still goes into the store; counts it either way. */
  admit(key: string, text: string): boolean {
    let t = this.#tallies.get(key);
    if (t === undefined) {
      t = { rows: 0, bytes: 0, elidedLines: 0, elidedBytes: 0 };
      this.#tallies.set(key, t);
    }
    if (t.elidedLines === 0 && t.rows < this.#limits.rows && t.bytes + text.length <= this.#limits.chars) {
      t.rows++;
      t.bytes += text.length;
      return true;
    }
    t.elidedLines++;
    t.elidedBytes += text.length;
    return false;
  }

  /** How much of `key`'s output was left out since the last call (then forgotten), or undefined. */
  takeElided(key: string): { readonly lines: number; readonly bytes: number } | undefined {
    const t = this.#tallies.get(key);
    if (t === undefined || t.elidedLines === 0) return undefined;
    const elided = { lines: t.elidedLines, bytes: t.elidedBytes };
    t.elidedLines = 0;
    t.elidedBytes = 0;
    // Once over, the attempt stays over: nothing more is stored row by row.
    t.rows = this.#limits.rows;
    return elided;
  }
}

/** The one row that stands for the lines the store left out. */
export function elidedText(elided: { lines: number; bytes: number }, logFile: string): string {
  return `[swarm: ${elided.lines} more line${elided.lines === 1 ? '' : 's'} of output (${formatBytes(elided.bytes)}) not kept in state.db; the log file has every line: ${logFile}]`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
