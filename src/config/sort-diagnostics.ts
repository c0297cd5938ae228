import type { Diagnostic } from './diagnostic.js';

/** Stable order: by file, line, column, then message; file-level problems first. */
export function sortDiagnostics<T extends Diagnostic>(diagnostics: readonly T[]): T[] {
  return [...diagnostics].sort((a, b) => {
    if (a.loc === undefined || b.loc === undefined) return a.loc === b.loc ? compare(a.message, b.message) : a.loc === undefined ? -1 : 1;
    return compare(a.loc.file, b.loc.file) || a.loc.line - b.loc.line || a.loc.col - b.loc.col || compare(a.message, b.message);
  });
}

// Code-unit order, not the locale's: the same input sorts the same on every machine.
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
