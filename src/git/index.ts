export { Git, type CommitOptions, type GitOptions, type RunWorktree } from './git.js';
export { GitError, type GitErrorCode } from './errors.js';
export { parseTaskBranch, TASK_BRANCH_PREFIX, taskBranch } from './names.js';
