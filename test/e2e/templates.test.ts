import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, events, type Arena } from '../adversary/run-fixture.js';

/**
 * A template over 40 package directories (and one whose agent fails), run through the
 * built CLI at concurrency 4 with a command agent; then base moves (a package added, the
 * failing one removed) and the re-run runs exactly the new task and drops the gone one.
 */
const PACKAGES = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}`);

let a: Arena;
let counter: string;

beforeAll(() => {
  a = arena();
  for (const p of PACKAGES) a.repo.write(`packages/${p}/index.js`, `logger.log("${p}")\n`);
  a.repo.write('packages/broken/index.js', 'x\n');
  a.repo.write('packages/broken/FAIL', 'this agent fails\n');
  a.repo.commitAll('41 packages');
  counter = join(a.scratch, 'starts.txt');
  // The agent counts its starts outside the repository, then marks its package migrated.
  const agent = a.script(
    'agent.sh',
    [
      'echo "$SWARM_TASK" >> "$COUNTER"',
      'if [ -f "$PKG/FAIL" ]; then exit 1; fi',
      'if [ -f "$PKG/index.js" ]; then echo "migrated, saw index.js" > "$PKG/MIGRATED"; else echo "migrated" > "$PKG/MIGRATED"; fi',
    ].join('\n'),
  );
  a.spec([
    'version: 1',
    'name: tpl',
    'base: main',
    'concurrency: 4',
    'retries: 0',
    'agent:',
    '  kind: command',
    '  sandbox: off',
    `  command: [${JSON.stringify(agent)}]`,
    'tasks:',
    '  - id: migrate',
    '    for_each: { dirs: "packages/*" }',
    '    title: Migrate {{name}}',
    '    prompt: Move {{path}} off logger.log',
    '    files: ["{{path}}/**"]',
    `    env: { PKG: "{{path}}", COUNTER: ${JSON.stringify(counter)} }`,
  ]);
});
afterAll(() => a.cleanup());

const starts = (): string[] => readFileSync(counter, 'utf8').split('\n').filter(Boolean).sort();

describe('a template end to end', () => {
  it('runs one task per directory, merges them, and a re-run after base moved runs only the new one', async () => {
    const plan = await swarm(['plan', 'swarm.yaml', '--format', 'json'], { cwd: a.repo.dir });
    expect(plan.stderr).toBe('');
    expect(plan.exitCode).toBe(0);
    const planned = JSON.parse(String(plan.stdout)) as { tasks: { id: string; template?: string; match?: string }[]; templates: { count: number }[] };
    expect(planned.tasks).toHaveLength(41);
    expect(planned.tasks.find((t) => t.id === 'migrate.p07')).toMatchObject({ template: 'migrate', match: 'packages/p07' });
    expect(planned.templates).toEqual([expect.objectContaining({ id: 'migrate', count: 41 })]);

    const first = await a.run();
    expect(first.exitCode).toBe(1);
    expect(starts()).toEqual(['migrate.broken', ...PACKAGES.map((p) => `migrate.${p}`)].sort());
    const started = events(first.stdout).find((e) => e.type === 'run' && e.reason === 'started');
    expect(started?.type === 'run' && started.reason === 'started' && started.tasks.find((t) => t.id === 'migrate.p00')).toMatchObject({
      template: 'migrate',
      match: 'packages/p00',
    });
    for (const p of PACKAGES) expect(a.repo.git('show', `swarm/tpl:packages/${p}/MIGRATED`)).toBe('migrated, saw index.js');

    // Base moves: a new package, and the failing one is gone before its task ever merged.
    a.repo.write('packages/p40/index.js', 'logger.log("new")\n');
    a.repo.git('rm', '-q', '-r', 'packages/broken');
    a.repo.commitAll('a package added, one removed');
    const second = await a.run();
    expect(second.exitCode).toBe(0);
    const log = events(second.stdout).flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(log.filter((m) => m.startsWith('dropped:'))).toEqual(['dropped: migrate.broken (its match is gone)']);
    // Exactly one more agent start: the new package's.
    expect(starts()).toHaveLength(42);
    expect(starts().filter((t) => t === 'migrate.p40')).toHaveLength(1);
    // The moved base is merged into the integration branch first: the new task sees its package.
    expect(a.repo.git('show', 'swarm/tpl:packages/p40/MIGRATED')).toBe('migrated, saw index.js');
    expect(a.repo.git('ls-tree', '--name-only', 'swarm/tpl', 'packages/')).not.toContain('packages/broken');

    const status = await swarm(['status', '--json'], { cwd: a.repo.dir });
    const tasks = (JSON.parse(String(status.stdout)) as { tasks: { id: string; template?: string; match?: string; state: string }[] }).tasks;
    expect(tasks).toHaveLength(41);
    expect(tasks.every((t) => t.template === 'migrate' && t.state === 'merged')).toBe(true);
    expect(tasks.find((t) => t.id === 'migrate.p40')?.match).toBe('packages/p40');
    const text = await swarm(['status'], { cwd: a.repo.dir });
    expect(String(text.stdout)).toContain('migrate (41)  template');
    expect(String(text.stdout)).toContain('41 merged, 0 running, 0 failed, 0 waiting');
    expect(String(text.stdout)).not.toContain('migrate.p00');

    // Nothing left to do, and the drop is not reported again.
    const third = await a.run();
    expect(third.exitCode).toBe(0);
    expect(events(third.stdout).filter((e) => e.type === 'log' && e.message.startsWith('dropped:'))).toEqual([]);
    expect(starts()).toHaveLength(42);
  }, 300_000);
});
