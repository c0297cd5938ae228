/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  readonly path: string;
  readonly head?: string;
  /** Short branch name, when a branch is checked out. */
  readonly branch?: string;
  readonly bare: boolean;
  readonly detached: boolean;
  /** Its folder is gone; git would prune it. */
  readonly prunable: boolean;
  readonly locked: boolean;
}

/** Parses `git worktree list --porcelain -z` (NUL-separated, so any path survives). */
export function parseWorktreeList(text: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: { -readonly [K in keyof WorktreeEntry]: WorktreeEntry[K] } | undefined;
  for (const field of text.split('\0')) {
    if (field === '') {
      if (current) entries.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      if (current) entries.push(current);
      current = { path: value, bare: false, detached: false, prunable: false, locked: false };
      continue;
    }
    if (!current) continue;
    switch (key) {
      case 'HEAD':
        current.head = value;
        break;
      case 'branch':
        current.branch = value.replace(/^refs\/heads\//, '');
        break;
      case 'bare':
        current.bare = true;
        break;
      case 'detached':
        current.detached = true;
        break;
      case 'prunable':
        current.prunable = true;
        break;
      case 'locked':
        current.locked = true;
        break;
      default:
        break;
    }
  }
  if (current) entries.push(current);
  return entries;
}
