import type { TaskState } from '../engine/task-state.js';
import { unreachable } from '../util/result.js';

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

export type Tone = 'dim' | 'normal' | 'busy' | 'good' | 'bad' | 'warn';

export interface Glyph {
  readonly char: string;
  readonly tone: Tone;
}

/** The one-cell mark for a task's state; `frame` drives the spinner of busy states. */
export function stateGlyph(state: TaskState, frame: number): Glyph {
  const spin = SPINNER[frame % SPINNER.length]!;
  switch (state) {
    case 'pending':
      return { char: '·', tone: 'dim' };
    case 'ready':
      return { char: '○', tone: 'normal' };
    case 'waiting':
      return { char: '◌', tone: 'warn' };
    case 'starting':
    case 'running':
    case 'checking':
    case 'resolving':
    case 'merging':
      return { char: spin, tone: 'busy' };
    case 'queued':
      return { char: '◎', tone: 'busy' };
    case 'merged':
      return { char: '✓', tone: 'good' };
    case 'failed':
      return { char: '✗', tone: 'bad' };
    case 'conflicted':
      return { char: '!', tone: 'bad' };
    case 'blocked':
      return { char: '⊘', tone: 'bad' };
    case 'cancelled':
      return { char: '-', tone: 'dim' };
    default:
      return unreachable(state);
  }
}

/** Ink colour for a tone, or nothing when colours are off (NO_COLOR). */
export function toneColor(tone: Tone, color: boolean): string | undefined {
  if (!color) return undefined;
  switch (tone) {
    case 'dim':
      return 'gray';
    case 'normal':
      return undefined;
    case 'busy':
      return 'cyan';
    case 'good':
      return 'green';
    case 'bad':
      return 'red';
    case 'warn':
      return 'yellow';
    default:
      return unreachable(tone);
  }
}
