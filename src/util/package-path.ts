import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * A path inside swarm's own package. Code finds its files (the demo agent, the JSON
 * Schema, the hooks' entry point) from the package root, not from its own location:
 * the same module runs from `src/` under the tests, from `dist/` as compiled, and from a
 * bundle chunk in `dist/cli/`.
 */
export function packagePath(...parts: string[]): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    root = dir;
  }
  return join(root, ...parts);
}
