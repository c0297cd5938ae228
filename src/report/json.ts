import type { Writable } from 'node:stream';
import type { SwarmEvent } from '../engine/events.js';
import type { Reporter } from './reporter.js';

/** `--ui json`: every engine event as one JSON object a line, in order. */
export function createJsonReporter(out: Writable): Reporter {
  return {
    handle(event: SwarmEvent) {
      out.write(`${JSON.stringify(event)}\n`);
    },
    close: () => Promise.resolve(),
  };
}
