import type { SourceLoc } from './spec.js';

/** One problem found in the user's input, pointing into the file where it can. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly loc?: SourceLoc;
  /** Further places, e.g. one per edge of a cycle. */
  readonly related?: readonly { readonly message: string; readonly loc: SourceLoc }[];
}
