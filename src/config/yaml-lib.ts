import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');

let lib: YamlLib | undefined;

/**
 * The `yaml` package, loaded on first use. A valid file read by the fast reader never
 * needs its document API, and loading the package costs a noticeable part of a
 * `swarm validate` (about 60 ms here), so only diagnostics pay for it.
 */
export function yamlLib(): YamlLib {
  return (lib ??= createRequire(import.meta.url)('yaml') as YamlLib);
}
