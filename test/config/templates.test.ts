import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseSpec, parseSpecDocument } from '../../src/config/load.js';
import type { Spec } from '../../src/config/spec.js';
import { buildGraph } from '../../src/graph/build.js';
import { planJson } from '../../src/graph/plan-json.js';
import { planText } from '../../src/graph/plan-text.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';
import { brief, lines } from './helpers.js';

let repo: TempRepo;
let file: string;
let baseSha: string;

beforeAll(() => {
  repo = tempRepo({
    'packages/billing/index.js': 'logger.log("a")\n',
    'packages/billing/util.js': 'export {}\n',
    'packages/core/index.js': 'logger.log("core")\n',
    'packages/search/index.js': 'console.log("s")\n',
    'packages/search/deep/x.js': 'x\n',
    'src/a.js': 'logger.log(1)\n',
    'src/b.ts': 'logger.log(2)\n',
    'src/nested/c.js': 'nothing\n',
    'src/nested/Up.js': 'nothing\n',
  });
  baseSha = repo.git('rev-parse', 'HEAD');
  // The working tree and the index differ from base: expansion must not see either.
  repo.write('packages/untracked/index.js', 'logger.log("new")\n');
  repo.write('src/nested/c.js', 'logger.log("only in the working tree")\n');
  repo.git('rm', '-q', '--cached', 'src/a.js');
  file = join(repo.dir, 'swarm.yaml');
});
afterAll(() => repo.cleanup());

function load(text: string): Spec {
  const result = parseSpec(text, file);
  if (!result.ok) throw new Error(result.error.map(brief).join('\n'));
  // The positional reader must expand the same file to the same tasks.
  const careful = parseSpecDocument(text, file);
  if (!careful.ok) throw new Error(careful.error.map(brief).join('\n'));
  expect(careful.value.tasks.map((t) => [t.id, t.files, t.prompt, t.dependsOn])).toEqual(result.value.tasks.map((t) => [t.id, t.files, t.prompt, t.dependsOn]));
  return result.value;
}

function problems(text: string): string[] {
  const result = parseSpec(text, file);
  return result.ok ? [] : result.error.map((d) => brief(d).replace(`${repo.dir}/`, ''));
}

const ids = (spec: Spec): string[] => spec.tasks.map((t) => t.id);

describe('sources', () => {
  test('dirs: one task per directory tracked at base, sorted, with every placeholder filled', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: migrate',
        '    for_each: { dirs: "packages/*" }',
        '    title: Migrate {{name}}',
        '    prompt: "Move {{path}} ({{dir}}, {{name}}, {{stem}}, #{{index}}) off logger.log"',
        '    files: ["{{path}}/**"]',
        '    check: npm test -- {{path}}',
        '    env: { PKG: "{{name}}" }',
      ),
    );
    expect(ids(spec)).toEqual(['migrate.billing', 'migrate.core', 'migrate.search']);
    const [billing] = spec.tasks;
    expect(billing).toMatchObject({
      title: 'Migrate billing',
      prompt: 'Move packages/billing (packages/billing, billing, billing, #1) off logger.log',
      files: ['packages/billing/**'],
      check: 'npm test -- packages/billing',
      env: { PKG: 'billing' },
      template: { id: 'migrate', matches: ['packages/billing'] },
    });
    expect(spec.templates).toEqual([expect.objectContaining({ id: 'migrate', source: 'dirs', tasks: ['migrate.billing', 'migrate.core', 'migrate.search'] })]);
    expect(spec.expandedAt).toBe(baseSha);
  });

  test('files: a task per tracked file (not the working tree, not the index), ids from the path under the glob', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: conv',
        '    for_each: { files: "src/**/*.js" }',
        '    prompt: Convert {{path}}; stem {{stem}} in {{dir}}',
        '    files: ["{{path}}"]',
      ),
    );
    // src/a.js was removed from the index but is tracked at base; Up.js sorts before c.js bytewise.
    expect(ids(spec)).toEqual(['conv.a.js', 'conv.nested.up.js', 'conv.nested.c.js']);
    expect(spec.tasks[1]!.prompt).toBe('Convert src/nested/Up.js; stem Up in src/nested');
  });

  test('values: a literal list in the order written', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: lang',
        '    for_each: { values: [fr, de, 12] }',
        '    prompt: Translate to {{name}}',
        '    files: ["i18n/{{name}}.json"]',
      ),
    );
    expect(ids(spec)).toEqual(['lang.fr', 'lang.de', 'lang.12']);
    expect(spec.tasks.map((t) => t.files[0])).toEqual(['i18n/fr.json', 'i18n/de.json', 'i18n/12.json']);
  });

  test('exclude leaves matches out', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: m',
        '    for_each: { dirs: "packages/*", exclude: [packages/core, "**/search"] }',
        '    prompt: p {{path}}',
        '    files: ["{{path}}/**"]',
      ),
    );
    expect(ids(spec)).toEqual(['m.billing']);
  });

  test('containing reads file contents at base with git grep, not the working tree', () => {
    const files = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: log',
        '    for_each: { files: "**/*.js", containing: "logger\\\\.log\\\\(" }',
        '    prompt: p {{path}}',
        '    files: ["{{path}}"]',
      ),
    );
    // src/nested/c.js calls logger.log only in the working tree; packages/untracked is not tracked.
    expect(files.tasks.map((t) => t.template?.matches[0])).toEqual(['packages/billing/index.js', 'packages/core/index.js', 'src/a.js']);
    const dirs = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: pkg',
        '    for_each: { dirs: "packages/*", containing: "logger[.]log" }',
        '    prompt: p {{path}}',
        '    files: ["{{path}}/**"]',
      ),
    );
    expect(ids(dirs)).toEqual(['pkg.billing', 'pkg.core']);
  });

  test('batch puts N matches in one task: {{paths}} lists them, per-match globs repeat', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: small',
        '    for_each: { files: ["src/**", "packages/search/**"], batch: 2 }',
        '    prompt: "Fix these:\\n{{paths}}"',
        '    files: ["{{path}}", "docs/{{index}}.md"]',
      ),
    );
    expect(spec.tasks.map((t) => t.template?.matches)).toEqual([
      ['packages/search/deep/x.js', 'packages/search/index.js'],
      ['src/a.js', 'src/b.ts'],
      ['src/nested/Up.js', 'src/nested/c.js'],
    ]);
    expect(ids(spec)).toEqual(['small.deep.x.js', 'small.a.js', 'small.nested.up.js']);
    expect(spec.tasks[1]).toMatchObject({ prompt: 'Fix these:\nsrc/a.js\nsrc/b.ts', files: ['src/a.js', 'src/b.ts', 'docs/2.md'] });
  });

  test('an id with placeholders names each task itself; the template goes by the text before them', () => {
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: lint-{{name}}',
        '    for_each: { dirs: "packages/*" }',
        '    prompt: p',
        '    files: ["{{path}}/**"]',
        '  - id: after',
        '    prompt: p',
        '    files: [x]',
        '    depends_on: [lint]',
      ),
    );
    expect(ids(spec)).toEqual(['lint-billing', 'lint-core', 'lint-search', 'after']);
    expect(spec.tasks[3]!.dependsOn).toEqual(['lint-billing', 'lint-core', 'lint-search']);
  });

  test('paths are quoted for the shell in check and setup, and escaped in globs', () => {
    const weird = tempRepo({ 'w/a [x]/f.txt': '1\n', "w/it's/f.txt": '2\n' });
    try {
      const result = parseSpec(
        lines('version: 1', 'tasks:', '  - id: w', '    for_each: { dirs: "w/*" }', '    prompt: p', '    files: ["{{path}}/**"]', '    setup: ls {{path}}'),
        join(weird.dir, 'swarm.yaml'),
      );
      if (!result.ok) throw new Error(result.error.map(brief).join('\n'));
      expect(result.value.tasks.map((t) => [t.id, t.files[0], t.setup])).toEqual([
        ['w.a-x', 'w/a \\[x\\]/**', "ls 'w/a [x]'"],
        ['w.it-s', "w/it's/**", "ls 'w/it'\\''s'"],
      ]);
    } finally {
      weird.cleanup();
    }
  });
});

describe('depends_on a template', () => {
  const text = lines(
    'version: 1',
    'tasks:',
    '  - id: prep',
    '    prompt: p',
    '    files: [prep/**]',
    '  - id: migrate',
    '    for_each: { dirs: "packages/*" }',
    '    prompt: p {{path}}',
    '    files: ["{{path}}/**"]',
    '    depends_on: [prep]',
    '  - id: docs',
    '    for_each: { values: [a, b] }',
    '    prompt: p {{name}}',
    '    files: ["docs/{{name}}.md"]',
    '    depends_on: [migrate]',
    '  - id: changelog',
    '    prompt: p',
    '    files: [CHANGELOG.md]',
    '    depends_on: [migrate, docs, prep]',
  );

  test('means every task the template made, from ordinary tasks and from other templates', () => {
    const spec = load(text);
    const byId = new Map(spec.tasks.map((t) => [t.id, t]));
    expect(byId.get('migrate.core')!.dependsOn).toEqual(['prep']);
    expect(byId.get('docs.a')!.dependsOn).toEqual(['migrate.billing', 'migrate.core', 'migrate.search']);
    expect(byId.get('changelog')!.dependsOn).toEqual(['migrate.billing', 'migrate.core', 'migrate.search', 'docs.a', 'docs.b', 'prep']);
    const graph = buildGraph(spec, {});
    if (!graph.ok) throw new Error(graph.error.map(brief).join('\n'));
    expect(graph.value.waves).toEqual([['prep'], ['migrate.billing', 'migrate.core', 'migrate.search'], ['docs.a', 'docs.b'], ['changelog']]);
  });

  test('swarm plan: a template is one line with its count and first matches; JSON lists every task with template and match', () => {
    const spec = load(text);
    const graph = buildGraph(spec, {});
    if (!graph.ok) throw new Error(graph.error.map(brief).join('\n'));
    const plan = planJson(spec, graph.value);
    expect(plan.tasks.find((t) => t.id === 'migrate.core')).toMatchObject({ template: 'migrate', match: 'packages/core' });
    expect(plan.tasks.find((t) => t.id === 'prep')).not.toHaveProperty('template');
    expect(plan.templates).toEqual([
      { id: 'migrate', source: 'dirs', count: 3, tasks: ['migrate.billing', 'migrate.core', 'migrate.search'] },
      { id: 'docs', source: 'values', count: 2, tasks: ['docs.a', 'docs.b'] },
    ]);
    const out = planText(plan);
    expect(out).toContain('  migrate  3 tasks over dirs: packages/billing, packages/core, packages/search\n');
    expect(out).toContain('  docs     2 tasks over values: a, b\n');
    expect(out).toContain('  2  migrate (3 tasks)\n');
    expect(out).toMatch(/ {2}4\. changelog +after docs \(2 tasks\), migrate \(3 tasks\), prep\n/);
    expect(out).not.toContain('migrate.billing,');
  });

  test('a cycle through a template points at the depends_on entries that make it', () => {
    const result = parseSpec(
      lines(
        'version: 1',
        'tasks:',
        '  - id: a',
        '    prompt: p',
        '    files: [a]',
        '    depends_on: [t]',
        '  - id: t',
        '    for_each: { values: [x] }',
        '    prompt: p',
        '    files: ["t/{{name}}"]',
        '    depends_on: [a]',
      ),
      file,
    );
    if (!result.ok) throw new Error(result.error.map(brief).join('\n'));
    const graph = buildGraph(result.value, {});
    expect(graph.ok).toBe(false);
    if (graph.ok) return;
    const [cycle] = graph.error;
    expect(cycle!.message).toContain('a -> t.x -> a');
    expect(`${cycle!.loc!.line}:${cycle!.loc!.col}`).toBe('6:18');
    expect(cycle!.related!.map((r) => `${r.loc.line}:${r.loc.col}`)).toEqual(['6:18', '11:18']);
  });
});

describe('errors point into the template', () => {
  const task = (...extra: string[]) => lines('version: 1', 'tasks:', '  - id: migrate', ...extra);

  test('an unknown placeholder, in the file and in a prompt file', () => {
    writeFileSync(join(repo.dir, 'prompt.md'), 'line one\nDo {{pth}} now\n');
    expect(
      problems(
        task('    for_each: { dirs: "packages/*" }', '    prompt: "Do {{pth}}"', '    files: ["{{path}}/**", "{{nme}}/x"]', '    env: { A: "{{foo}}" }'),
      ),
    ).toEqual([
      'swarm.yaml:5:13 task "migrate" prompt: unknown placeholder {{pth}} (known: {{path}} {{dir}} {{name}} {{stem}} {{index}} {{paths}})',
      'swarm.yaml:6:28 task "migrate" files[1]: unknown placeholder {{nme}} (known: {{path}} {{dir}} {{name}} {{stem}} {{index}} {{paths}})',
      'swarm.yaml:7:15 task "migrate" env.A: unknown placeholder {{foo}} (known: {{path}} {{dir}} {{name}} {{stem}} {{index}} {{paths}})',
    ]);
    expect(problems(task('    for_each: { dirs: "packages/*" }', '    prompt_file: prompt.md', '    files: ["{{path}}/**"]'))).toEqual([
      'swarm.yaml:5:18 task "migrate" prompt_file: the prompt has an unknown placeholder {{pth}} (line 2) (known: {{path}} {{dir}} {{name}} {{stem}} {{index}} {{paths}})',
    ]);
  });

  test('a template that matches nothing, unless allow_empty', () => {
    expect(problems(task('    for_each: { dirs: "nope/*" }', '    prompt: p', '    files: ["{{path}}/**"]'))).toEqual([
      `swarm.yaml:4:5 template "migrate" matches nothing at base ${baseSha.slice(0, 12)} (for_each.dirs "nope/*"); set for_each.allow_empty: true if that is expected`,
    ]);
    const spec = load(
      lines(
        'version: 1',
        'tasks:',
        '  - id: migrate',
        '    for_each: { dirs: "nope/*", allow_empty: true }',
        '    prompt: p',
        '    files: ["{{path}}/**"]',
        '  - id: last',
        '    prompt: p',
        '    files: [x]',
        '    depends_on: [migrate]',
      ),
    );
    expect(spec.tasks.map((t) => [t.id, t.dependsOn])).toEqual([['last', []]]);
  });

  test('a generated glob that breaks the glob rules names the task and the match', () => {
    expect(problems(task('    for_each: { values: ["../up", "ok"] }', '    prompt: p', '    files: ["x/{{name}}/**"]'))).toEqual([
      'swarm.yaml:6:13 template "migrate" makes a bad glob: task "migrate.up" (match "../up") files: "x/../up/**" has a ".." segment; globs must stay inside the repository',
    ]);
  });

  test('two matches that give one id name both; so does a clash with a plain task', () => {
    expect(
      problems(
        task('    for_each: { files: "src/nested/*" }', '    prompt: p', '    files: ["{{path}}"]', '  - id: migrate.a.js', '    prompt: p', '    files: [y]'),
      ),
    ).toEqual([]);
    expect(problems(task('    for_each: { values: [Foo, foo] }', '    prompt: p', '    files: ["x/{{name}}"]'))).toEqual([
      'swarm.yaml:3:9 template "migrate": "foo" and "Foo" would both be the task "migrate.foo"; exclude one, or put a placeholder in the id that tells them apart',
    ]);
    expect(
      problems(
        lines(
          'version: 1',
          'tasks:',
          '  - id: migrate.foo',
          '    prompt: p',
          '    files: [y]',
          '  - id: migrate',
          '    for_each: { values: [foo] }',
          '    prompt: p',
          '    files: ["x/{{name}}"]',
        ),
      ),
    ).toEqual([
      'swarm.yaml:6:9 template "migrate": "foo" and the task "migrate.foo" would both be the task "migrate.foo"; exclude one, or put a placeholder in the id that tells them apart',
    ]);
  });

  test('the shape of for_each', () => {
    expect(problems(task('    for_each: { dirs: "a/*", files: "b/*" }', '    prompt: p', '    files: ["{{path}}"]'))).toEqual([
      'swarm.yaml:4:30 task "migrate" for_each: expected exactly one of dirs, files or values, got dirs and files',
    ]);
    expect(problems(task('    for_each: { values: [a], containing: x }', '    prompt: p', '    files: ["{{path}}"]'))).toEqual([
      'swarm.yaml:4:30 task "migrate" for_each.containing filters files by their content; it cannot apply to values',
    ]);
    expect(problems(lines('version: 1', 'tasks:', '  - id: a{{name}}', '    prompt: p', '    files: [x]'))[0]).toMatch(
      /^swarm.yaml:3:9 task id "a\{\{name\}\}" has placeholders, which only a template fills/,
    );
  });

  test('a containing regex git cannot read', () => {
    expect(problems(task('    for_each: { files: "**", containing: "a(" }', '    prompt: p', '    files: ["{{path}}"]'))[0]).toMatch(
      /^swarm.yaml:4:42 template "migrate" for_each.containing: git grep cannot use it: /,
    );
  });
});
