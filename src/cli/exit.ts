/** Exit codes, as DESIGN.md promises. */
export const EXIT = {
  ok: 0,
  /** A task failed, conflicted or was blocked. */
  failed: 1,
  /** Bad input: the file, flags or repository. */
  badInput: 2,
  /** Stopped by the user; the run stays resumable. */
  interrupted: 130,
} as const;
