// Bundles the CLI into dist/cli/main.js plus one chunk per lazily loaded part, over the
// files tsc wrote. Node loads ES modules one file at a time, and `swarm validate` used
// to spend a fifth of its time loading some 200 of them (zod alone is 80); a bundle
// loads a handful. The packages that only `swarm run` needs, or that carry native
// code, stay outside and load from node_modules as before. The hooks' entry point and
// the demo agent are not bundled: they are small, and run as their own processes.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const outdir = 'dist/cli';
for (const f of readdirSync(outdir)) if (/^chunk-.*\.js(\.map)?$/.test(f)) rmSync(join(outdir, f));

// zod's core re-exports all of its ~50 locales (half a megabyte) as one namespace, which
// no bundler can shake; swarm speaks English only, so the bundle gets English alone.
const zodLocales = join(dirname(createRequire(import.meta.url).resolve('zod/v4/core')), '..', 'locales');
const englishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      args.resolveDir.startsWith(dirname(zodLocales)) ? { path: 'zod-locales', namespace: 'swarm' } : undefined,
    );
    b.onLoad({ filter: /^zod-locales$/, namespace: 'swarm' }, () => ({
      contents: `export { default as en } from ${JSON.stringify(join(zodLocales, 'en.js'))};`,
      resolveDir: zodLocales,
    }));
  },
};

await build({
  plugins: [englishOnly],
  entryPoints: ['src/cli/main.ts'],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3', 'ink', 'react', 'react/*', 'react-devtools-core', 'execa', 'p-queue', 'yaml'],
  // Bundled CommonJS packages call require() for node's own modules.
  banner: { js: "import { createRequire as __swarmCreateRequire } from 'node:module';\nconst require = __swarmCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
