/**
 * Why a git operation was refused or failed. Thrown only by methods whose port signature
 * cannot carry a `Result` (see `GitPort`); the engine turns it into a task failure.
 */
export type GitErrorCode =
  /** The caller asked for something that does not exist or is malformed. */
  | 'bad-input'
  /** A branch is checked out somewhere swarm must not touch. */
  | 'checked-out'
  /** A worktree holds uncommitted changes and `force` was not given. */
  | 'dirty'
  /** The branch or path is not swarm's to change (the user's checkout, the integration branch). */
  | 'protected'
  /** A commit was refused, e.g. by a hook, or conflict markers are still in the files. */
  | 'commit-failed'
  /** git itself failed in a way swarm did not expect. */
  | 'command-failed';

export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code: GitErrorCode;

  constructor(code: GitErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
