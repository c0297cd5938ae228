/** Exit codes, as DESIGN.md promises. */
export const EXIT = {
  ok: 0,
  /** A task failed, conflicted or was blocked. */
  failed: 1,
  /** Bad input: the file, flags or repository. */
  badInput: 2,
  /**
   * The account's usage limit is reached and resets later than `limits.max_wait`: the run
   * stopped, resumable; run it again after the reset. 75 is sysexits' EX_TEMPFAIL (try again later).
   */
  usageLimit: 75,
  /** Stopped by the user; the run stays resumable. */
  interrupted: 130,
} as const;
