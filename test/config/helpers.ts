import type { Diagnostic } from '../../src/config/diagnostic.js';

/** `file:line:col message`, the part of a diagnostic a user reads first. */
export function brief(d: Diagnostic): string {
  return d.loc === undefined ? d.message : `${d.loc.file}:${d.loc.line}:${d.loc.col} ${d.message}`;
}

/** A valid task, as yaml lines, to pad out files whose problem lies elsewhere. */
export const OK_TASK = ['  - id: ok', '    prompt: do it', '    files: ["ok/**"]'];

export const lines = (...l: string[]): string => `${l.join('\n')}\n`;
