import type { LeaseEvent } from '../engine/events.js';

type Violation = Extract<LeaseEvent, { reason: 'violation' }>;

/** What a violation event says to a person, the same in the plain lines and the TUI. */
export function violationText(e: Pick<Violation, 'path' | 'where'>): string {
  switch (e.where) {
    case 'hook':
    case 'pre-commit':
    case 'audit':
      return `${e.path} is outside the task's files (${e.where})`;
    case 'symlink':
      return `committed symlink ${e.path} points outside the repository (audit)`;
    case 'tamper':
      return `${e.path} while its agent ran, and no agent may change it (tamper detection)`;
    case 'merge':
      return `commit ${e.path} reached the task branch after its audit; it is not merged`;
  }
}
