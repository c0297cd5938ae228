import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git } from './git-repo.js';

/** Everything a user would notice about their checkout: files, index, HEAD, branch, status. */
export function checkoutSnapshot(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (d === dir && (name === '.git' || name === '.swarm')) continue;
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else
        hash
          .update(`${relative(dir, full)}\0`)
          .update(readFileSync(full))
          .update('\0');
    }
  };
  walk(dir);
  hash.update(git(dir, 'rev-parse', 'HEAD'));
  hash.update(git(dir, 'symbolic-ref', 'HEAD'));
  hash.update(git(dir, 'status', '--porcelain', '--untracked-files=all', '--ignored=no'));
  hash.update(git(dir, 'ls-files', '-s'));
  return hash.digest('hex');
}
