// Generates a large, valid swarm.yaml: a random DAG over packages with realistic globs,
// plus the tracked files those globs cover. Deterministic for a given seed.

/** A small, seeded PRNG (mulberry32), so every run of the benchmark sees the same graph. */
export function rng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

/**
 * @param {{ tasks?: number, packages?: number, seed?: number }} options
 * @returns {{ yaml: string, files: string[] }}
 */
export function generateSwarm({ tasks = 2000, packages = 150, seed = 42 } = {}) {
  const rand = rng(seed);
  const id = (i) => `t${String(i).padStart(4, '0')}`;
  const lines = ['version: 1', 'name: bench', 'concurrency: 8', 'agent:', '  kind: command', '  command: ["true"]', 'tasks:'];
  const files = [];
  for (let i = 0; i < tasks; i++) {
    const pkg = `packages/pkg${i % packages}`;
    const globs = [`${pkg}/src/mod${i}/**`, `${pkg}/test/mod${i}.test.ts`];
    files.push(`${pkg}/src/mod${i}/index.ts`, `${pkg}/src/mod${i}/util.ts`, `${pkg}/test/mod${i}.test.ts`);
    // Some variety the overlap analysis must take apart: braces, extglobs, classes, stars.
    switch (i % 7) {
      case 0:
        globs.push(`docs/mod${i}.{md,mdx}`);
        files.push(`docs/mod${i}.md`);
        break;
      case 1:
        globs.push(`${pkg}/fixtures/mod${i}-@(a|b)/*.json`);
        break;
      case 2:
        globs.push(`${pkg}/types/mod${i}[0-9].d.ts`);
        break;
      case 3:
        // Shared by every task of the package: real conflicts, serialized unless ordered.
        if (i % 25 === 3) globs.push(`${pkg}/package.json`);
        break;
      default:
        break;
    }
    const deps = new Set();
    const fanIn = i < 20 ? 0 : rand(4);
    for (let k = 0; k < fanIn; k++) deps.add(id(i - 1 - rand(Math.min(i, 60))));
    lines.push(
      `  - id: ${id(i)}`,
      `    title: Task ${i} in ${pkg}`,
      `    prompt: Refactor module ${i} of ${pkg}.`,
      `    files: [${globs.map((g) => JSON.stringify(g)).join(', ')}]`,
    );
    if (deps.size > 0) lines.push(`    depends_on: [${[...deps].sort().join(', ')}]`);
    if (i % 5 === 0) lines.push(`    estimate: ${1 + rand(30)}m`);
  }
  for (let p = 0; p < packages; p++) files.push(`packages/pkg${p}/package.json`);
  return { yaml: `${lines.join('\n')}\n`, files };
}
