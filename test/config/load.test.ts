import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadSpecFile, MAX_SPEC_BYTES, parseSpec } from '../../src/config/load.js';
import { DEFAULTS, type Spec } from '../../src/config/spec.js';
import { brief, lines, OK_TASK } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'swarm-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string, file = join(dir, 'swarm.yaml')): Spec {
  const result = parseSpec(text, file);
  if (!result.ok) throw new Error(result.error.map(brief).join('\n'));
  return result.value;
}

function problems(text: string, file = join(dir, 'swarm.yaml')): string[] {
  const result = parseSpec(text, file);
  return result.ok ? [] : result.error.map(brief);
}

describe('defaults', () => {
  test('a minimal file gets every default', () => {
    const spec = load(lines('version: 1', 'tasks:', ...OK_TASK), join(dir, 'api-refactor.yaml'));
    expect(spec.file).toBe(resolve(dir, 'api-refactor.yaml'));
    expect(spec.name).toBe('api-refactor');
    expect(spec.into).toBe('swarm/api-refactor');
    expect(spec.base).toBe(DEFAULTS.base);
    expect(spec.concurrency).toBe(DEFAULTS.concurrency);
    expect(spec.worktrees).toBe(DEFAULTS.worktrees);
    expect(spec.lease).toEqual({ ttlMs: DEFAULTS.leaseTtlMs, enforce: DEFAULTS.enforce });
    expect(spec.merge).toEqual({ strategy: DEFAULTS.strategy, onConflict: DEFAULTS.onConflict });
    expect(spec.setup).toBeUndefined();
    expect(spec.check).toBeUndefined();
    const [task] = spec.tasks;
    expect(task).toMatchObject({
      id: 'ok',
      title: 'ok',
      prompt: 'do it',
      files: ['ok/**'],
      dependsOn: [],
      retries: DEFAULTS.retries,
      timeoutMs: DEFAULTS.timeoutMs,
      env: {},
      agent: { kind: 'claude', args: [], isolateConfig: false, sandbox: 'auto' },
    });
    expect(task?.promptFile).toBeUndefined();
    expect(task?.estimateMs).toBeUndefined();
  });

  test('a task inherits setup, check, retries and timeout, and may replace each', () => {
    const spec = load(
      lines(
        'version: 1',
        'setup: npm ci',
        'check: npm test',
        'retries: 3',
        'timeout: 5m',
        'tasks:',
        '  - { id: a, prompt: x, files: [a] }',
        '  - { id: b, prompt: x, files: [b], setup: make, check: make test, retries: 0, timeout: 90 }',
      ),
    );
    const [a, b] = spec.tasks;
    expect(spec.setup).toBe('npm ci');
    expect(spec.check).toBe('npm test');
    expect(a).toMatchObject({ setup: 'npm ci', check: 'npm test', retries: 3, timeoutMs: 300_000 });
    expect(b).toMatchObject({ setup: 'make', check: 'make test', retries: 0, timeoutMs: 90_000 });
  });

  test("a task's agent overrides the top-level agent key by key", () => {
    const spec = load(
      lines(
        'version: 1',
        'agent:',
        '  model: sonnet',
        '  permission_mode: acceptEdits',
        '  max_turns: 50',
        '  allowed_tools: [Read, Edit]',
        '  args: ["--verbose"]',
        '  sandbox: off',
        'tasks:',
        '  - id: plain',
        '    prompt: x',
        '    files: [a]',
        '  - id: custom',
        '    prompt: x',
        '    files: [b]',
        '    agent:',
        '      model: opus',
        '      allowed_tools: [Read]',
        '      isolate_config: true',
        '      sandbox: required',
      ),
    );
    const [plain, custom] = spec.tasks;
    expect(plain?.agent).toEqual({
      kind: 'claude',
      model: 'sonnet',
      permissionMode: 'acceptEdits',
      maxTurns: 50,
      allowedTools: ['Read', 'Edit'],
      args: ['--verbose'],
      isolateConfig: false,
      sandbox: 'off',
    });
    expect(custom?.agent).toEqual({
      kind: 'claude',
      model: 'opus',
      permissionMode: 'acceptEdits',
      maxTurns: 50,
      allowedTools: ['Read'],
      args: ['--verbose'],
      isolateConfig: true,
      sandbox: 'required',
    });
  });

  test('a task may supply the command that a top-level kind: command needs', () => {
    const spec = load(lines('version: 1', 'agent: { kind: command }', 'tasks:', ...OK_TASK, '    agent: { command: [./agent, "{prompt_file}"] }'));
    expect(spec.tasks[0]?.agent).toMatchObject({ kind: 'command', command: ['./agent', '{prompt_file}'] });
  });

  test('env values become strings; title defaults to the id', () => {
    const spec = load(lines('version: 1', 'tasks:', ...OK_TASK, '    env: { A: 1, B: true, C: text, D: 1.5 }'));
    expect(spec.tasks[0]?.env).toEqual({ A: '1', B: 'true', C: 'text', D: '1.5' });
    expect(spec.tasks[0]?.title).toBe('ok');
  });

  test('name, into, base, lease and merge as written', () => {
    const spec = load(
      lines(
        'version: 1',
        'name: run.1',
        'base: main',
        'into: feature/x',
        'concurrency: 9',
        'worktrees: build/wt',
        'budget_usd: 12.5',
        'lease: { ttl: 1h30m, enforce: warn }',
        'merge: { strategy: rebase, check: make, on_conflict: fail }',
        'tasks:',
        ...OK_TASK,
      ),
    );
    expect(spec).toMatchObject({
      name: 'run.1',
      base: 'main',
      into: 'feature/x',
      concurrency: 9,
      worktrees: 'build/wt',
      budgetUsd: 12.5,
      lease: { ttlMs: 5_400_000, enforce: 'warn' },
      merge: { strategy: 'rebase', check: 'make', onConflict: 'fail' },
    });
  });

  test('limits.max_wait: how long to wait for a usage-limit reset; 0 (stop at once) by default; a bad duration points at it', () => {
    expect(load(lines('version: 1', 'tasks:', ...OK_TASK)).limits).toEqual({ maxWaitMs: 0, shardWaitMs: 3_600_000 });
    expect(load(lines('version: 1', 'limits: { max_wait: 5h }', 'tasks:', ...OK_TASK)).limits).toEqual({ maxWaitMs: 5 * 3_600_000, shardWaitMs: 3_600_000 });
    expect(load(lines('version: 1', 'limits: { shard_wait: 10m }', 'tasks:', ...OK_TASK)).limits).toEqual({ maxWaitMs: 0, shardWaitMs: 600_000 });
    expect(problems(lines('version: 1', 'limits: { shard_wait: never }', 'tasks:', ...OK_TASK))[0]).toMatch(
      /swarm\.yaml:2:\d+ limits\.shard_wait: expected a duration/,
    );
    expect(problems(lines('version: 1', 'limits: { max_wait: soon }', 'tasks:', ...OK_TASK))[0]).toMatch(
      /swarm\.yaml:2:\d+ limits\.max_wait: expected a duration/,
    );
    expect(problems(lines('version: 1', 'limits: { wait: 1h }', 'tasks:', ...OK_TASK))[0]).toMatch(/swarm\.yaml:2:\d+ .*wait/);
  });

  test('the default name must itself be valid, else the user is told to set name:', () => {
    expect(problems(lines('version: 1', 'tasks:', ...OK_TASK), join(dir, 'My Plan.yaml'))).toEqual([
      `${join(dir, 'My Plan.yaml')}:1:1 the run name defaults to the file's stem, "My Plan", which is not a valid name: set "name:" (lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters, with no ".." and not ending in "." or ".lock" (git refuses those in branch names))`,
    ]);
    expect(load(lines('version: 1', 'name: my-plan', 'tasks:', ...OK_TASK), join(dir, 'My Plan.yaml')).name).toBe('my-plan');
    // Reported alongside other problems, not only once the rest is fixed.
    expect(problems(lines('version: 1', 'retries: -1', 'tasks:', ...OK_TASK), 'My Plan.yaml')).toEqual([
      expect.stringMatching(/^My Plan\.yaml:1:1 the run name defaults to the file's stem, "My Plan"/),
      'My Plan.yaml:2:10 retries: expected a number >= 0, got -1',
    ]);
  });
});

describe('durations', () => {
  const timeout = (value: string): number | string[] => {
    const result = parseSpec(lines('version: 1', `timeout: ${value}`, 'tasks:', ...OK_TASK), 'd.yaml');
    return result.ok ? result.value.tasks[0]!.timeoutMs : result.error.map(brief);
  };
  test.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['2h', 7_200_000],
    ['1500ms', 1_500],
    ['45', 45_000],
    ['"120"', 120_000],
    ['2.5', 2_500],
  ])('%s is %d ms', (value, ms) => {
    expect(timeout(value)).toBe(ms);
  });
  test.each(['1x', 'm', '10 m', '-5', 'true', '1h-5m'])('%s is refused', (value) => {
    const got = timeout(value);
    expect(Array.isArray(got)).toBe(true);
    expect((got as string[])[0]).toMatch(/^d\.yaml:2:10 timeout: expected a duration/);
  });
  test('estimate feeds estimateMs', () => {
    const spec = load(lines('version: 1', 'tasks:', ...OK_TASK, '    estimate: 20m'));
    expect(spec.tasks[0]?.estimateMs).toBe(1_200_000);
  });
});

describe('prompt_file', () => {
  test('is read relative to the yaml, not the working directory', () => {
    const sub = mkdtempSync(join(dir, 'sub-'));
    writeFileSync(join(sub, 'p.md'), 'Do the thing.\n');
    const spec = load(lines('version: 1', 'tasks:', '  - id: a', '    prompt_file: p.md', '    files: [a]'), join(sub, 'swarm.yaml'));
    expect(spec.tasks[0]?.prompt).toBe('Do the thing.\n');
    expect(spec.tasks[0]?.promptFile).toBe(join(sub, 'p.md'));
  });

  test('an unreadable file is reported with the reason', () => {
    const result = parseSpec(lines('version: 1', 'tasks:', '  - id: a', '    prompt_file: p.md', '    files: [a]'), 'x/swarm.yaml', {
      readFile: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    });
    expect(result.ok ? [] : result.error.map(brief)).toEqual([
      `x/swarm.yaml:4:18 task "a" prompt_file: "p.md" cannot be read: permission denied (${resolve('x/p.md')})`,
    ]);
  });
});

describe('locations for later stages', () => {
  test('each task records where its id, files and depends_on entries are', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: a',
        '    prompt: x',
        '    files: ["a/**", b]',
        '  - id: b',
        '    prompt: y',
        '    files: [c]',
        '    depends_on:',
        '      - a',
      ),
      'loc.yaml',
    );
    const [a, b] = spec.tasks;
    expect(a?.loc.id).toEqual({ file: 'loc.yaml', line: 3, col: 9, endLine: 3, endCol: 10 });
    expect(a?.loc.files).toEqual([
      { file: 'loc.yaml', line: 5, col: 13, endLine: 5, endCol: 19 },
      { file: 'loc.yaml', line: 5, col: 21, endLine: 5, endCol: 22 },
    ]);
    expect(a?.loc.dependsOn).toBeUndefined();
    expect(b?.loc.dependsOn).toEqual([{ file: 'loc.yaml', line: 10, col: 9, endLine: 10, endCol: 10 }]);
  });
});

describe('hostile input', () => {
  test('an alias bomb is refused without expanding it', () => {
    const bomb = [
      'version: 1',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
      'g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]',
      'h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]',
      'tasks: *h',
    ].join('\n');
    const started = performance.now();
    expect(problems(bomb, 'bomb.yaml')).toEqual(['bomb.yaml:3:8 too many alias expansions (more than 1000); the file looks like a YAML alias bomb']);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('absurd nesting is an error, not a crash', () => {
    const deep = `version: 1\ntasks: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const found = problems(deep, 'deep.yaml');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^deep\.yaml:\d+:\d+ invalid YAML: lists and mappings are nested too deeply$/);
  });

  test('ordinary anchors and merge keys work', () => {
    const spec = load(
      lines('version: 1', 'tasks:', '  - &base { id: a, prompt: shared prompt, files: [a], retries: 4 }', '  - <<: *base', '    id: b', '    files: [b]'),
    );
    expect(spec.tasks.map((t) => [t.id, t.prompt, t.files, t.retries])).toEqual([
      ['a', 'shared prompt', ['a'], 4],
      ['b', 'shared prompt', ['b'], 4],
    ]);
  });

  test('a file over the size limit is refused before parsing', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `version: 1\n# ${'x'.repeat(MAX_SPEC_BYTES)}\n`);
    const result = loadSpecFile(big);
    expect(result.ok ? [] : result.error.map(brief)).toEqual([`${big} is 5.0 MiB; swarm refuses files over 5.0 MiB`]);
  });

  test('a missing file says how to make one', () => {
    const result = loadSpecFile('no-such/swarm.yaml');
    expect(result.ok ? [] : result.error.map(brief)).toEqual(['no-such/swarm.yaml does not exist (run "swarm init" to write a starter file)']);
  });
});
