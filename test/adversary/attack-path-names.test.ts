import { afterEach, describe, expect, it } from 'vitest';
import { arena, events, mergedTasks, type Arena } from './run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

function spec(agent: string, files: string): string[] {
  return [
    'version: 1',
    'name: pn',
    'retries: 0',
    'lease:',
    '  enforce: block',
    'agent:',
    '  kind: command',
    // The layer under attack is swarm's own (hook, guard, audit, git), which must hold without the sandbox.
    '  sandbox: off',
    `  command: ${JSON.stringify(['sh', agent])}`,
    'tasks:',
    '  - id: a',
    '    prompt: Do a.',
    `    files: [${JSON.stringify(files)}]`,
  ];
}

function tree(a: Arena, ref: string): string[] {
  return a.repo.git('ls-tree', '-r', '-z', '--name-only', ref).split('\0').filter(Boolean);
}

describe('file names an agent picks to slip past the globs', () => {
  it('a backslash is part of a name, not a separator: `src\\evil.txt` at the root is outside `src/**`', async () => {
    a = arena();
    const guard = `${a.scratch}/guard.log`;
    // Through the guard first (its own commit), then left for swarm's commit and the audit.
    const agent = a.script(
      'agent.sh',
      `echo pwned > 'src\\evil.txt'; echo ok > src/ok.txt; git add -A; git commit -q -m mine 2>>"${guard}" || echo refused >> "${guard}"`,
    );
    a.spec(spec(agent, 'src/**'));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(tree(a, 'swarm/pn')).not.toContain('src\\evil.txt');
    expect(mergedTasks(a.repo, base, 'swarm/pn')).toEqual([]);
    // The guard refused the agent's own commit, naming the file.
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(guard, 'utf8')).toContain('src\\evil.txt');
    expect(a.repo.git('log', '--format=%s', 'swarm-task/pn/a')).not.toContain('mine');
    const violations = events(result.stdout).filter((e) => e.type === 'lease' && e.reason === 'violation');
    // The guard's refusal of the agent's own commit reaches the stream too, then the audit's.
    expect(violations).toEqual([
      expect.objectContaining({ task: 'a', path: 'src\\evil.txt', where: 'pre-commit', blocked: true }),
      expect.objectContaining({ task: 'a', path: 'src\\evil.txt', where: 'audit', blocked: true }),
    ]);
  }, 30_000);

  it("names with a newline, unicode, a leading dash or quotes inside the globs are the task's own and land", async () => {
    a = arena();
    const names = ['src/a/new\nline.txt', 'src/a/ünï cödé.txt', 'src/a/-rf', 'src/a/"quoted".txt', 'src/a/tab\there'];
    const agent = a.script('agent.sh', ['mkdir -p src/a', ...names.map((n) => `printf x > '${n}'`), 'git add -A; git commit -q -m "odd names"'].join('\n'));
    a.spec(spec(agent, 'src/a/**'));
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(mergedTasks(a.repo, base, 'swarm/pn')).toEqual(['a']);
    expect(tree(a, 'swarm/pn')).toEqual(expect.arrayContaining(names));
    expect(events(result.stdout).filter((e) => e.type === 'lease' && e.reason === 'violation')).toEqual([]);
  }, 30_000);
});
