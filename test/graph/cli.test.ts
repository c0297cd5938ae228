import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/graph/plan-json.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

// auth and docs first; api after auth; web after api. docs (**/*.md) and web (web/**)
// could run together and both own web/README.md (docs' web/*.md against web/**).
const VALID = `version: 1
name: demo
concurrency: 4
tasks:
  - id: auth
    title: Auth to async
    prompt: Convert auth.
    files: ["src/auth/**"]
  - id: api
    title: API to async
    prompt: Convert the API.
    files: ["src/api/*.ts"]
    depends_on: [auth]
  - id: web
    title: "Web \\"client\\""
    prompt: Update the web client.
    files: ["web/**"]
    depends_on: [api]
  - id: docs
    prompt: Document it.
    files: ["docs/**", "*.md", "web/*.md"]
`;

const CYCLE = `version: 1
name: loop
tasks:
  - id: a
    prompt: A.
    files: ["a/**"]
    depends_on: [b]
  - id: b
    prompt: B.
    files: ["b/**"]
    depends_on: [a]
`;

describe('swarm validate and swarm plan (built CLI, real git repository)', () => {
  let repo: TempRepo;
  beforeAll(() => {
    repo = tempRepo({ 'web/README.md': '# web\n', 'src/api/x.ts': '', 'swarm.yaml': VALID, 'loop.yaml': CYCLE });
  });
  afterAll(() => repo.cleanup());

  it('validate: exit 0 with a one-line summary', async () => {
    const r = await swarm(['validate'], { cwd: repo.dir });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('swarm.yaml: ok: 4 tasks, 3 waves, critical path 3 tasks, 1 file conflict (run apart; see swarm plan), effective concurrency 2 of 4');
  });

  it('validate: exit 2 naming the cycle, with a location per edge', async () => {
    const r = await swarm(['validate', 'loop.yaml'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('loop.yaml:7:18 error: dependency cycle: a -> b -> a');
    expect(r.stderr).toContain('loop.yaml:7:18 note: a depends on b');
    expect(r.stderr).toContain('loop.yaml:11:18 note: b depends on a');
    expect(r.stderr).toContain('    depends_on: [a]');
    expect(r.stderr).toMatch(/\n\nloop\.yaml: 1 error$/);
  });

  it('validate: exit 2 for a task owning every file beside others, and for config errors', async () => {
    repo.write('all.yaml', VALID.replace('files: ["src/auth/**"]', 'files: ["**"]'));
    const all = await swarm(['validate', 'all.yaml'], { cwd: repo.dir });
    expect(all.exitCode).toBe(2);
    expect(all.stderr).toContain('all.yaml:8:13 error: task "auth" owns every file ("**") but could run beside task docs');

    repo.write('typo.yaml', VALID.replace('concurrency: 4', 'concurrenc: 4'));
    const typo = await swarm(['validate', 'typo.yaml'], { cwd: repo.dir });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/typo\.yaml:3:1 error: .*concurrenc/);

    const missing = await swarm(['validate', 'nope.yaml'], { cwd: repo.dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('nope.yaml does not exist');
  });

  it('validate works outside a git repository (tracked files are skipped)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-nogit-'));
    try {
      writeFileSync(join(dir, 'swarm.yaml'), VALID);
      const r = await swarm(['validate'], { cwd: dir });
      expect(r.exitCode).toBe(0);
      // Still a conflict: web/*.md and web/** meet by analysis alone.
      expect(r.stdout).toContain('1 file conflict');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plan --format json has the documented shape', async () => {
    const r = await swarm(['plan', '--format', 'json'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    const plan = JSON.parse(String(r.stdout)) as PlanJson;
    expect(plan).toMatchObject({
      version: 1,
      name: 'demo',
      into: 'swarm/demo',
      concurrency: 4,
      effectiveConcurrency: 2,
      weightUnit: 'tasks',
      order: ['auth', 'api', 'docs', 'web'],
      waves: [['auth', 'docs'], ['api'], ['web']],
      criticalPath: { tasks: ['auth', 'api', 'web'], length: 3 },
      conflicts: [{ a: 'docs', b: 'web', globA: 'web/*.md', globB: 'web/**', path: 'web/README.md' }],
    });
    expect(plan.tasks.map((t) => t.id)).toEqual(['api', 'auth', 'docs', 'web']);
    expect(plan.tasks[0]).toEqual({
      id: 'api',
      title: 'API to async',
      dependsOn: ['auth'],
      files: ['src/api/*.ts'],
      wave: 1,
      weight: 1,
      remaining: 2,
      critical: true,
    });
    expect(plan.tasks.find((t) => t.id === 'docs')).toMatchObject({ critical: false, remaining: 1, wave: 0 });
  });

  it('plan --format text shows waves, order, critical path, conflicts and concurrency', async () => {
    const r = await swarm(['plan'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    const text = String(r.stdout);
    expect(text).toContain('demo: 4 tasks in 3 waves, merged into swarm/demo');
    expect(text).toMatch(/ {2}1 {2}auth, docs\n {2}2 {2}api\n {2}3 {2}web\n/);
    expect(text).toMatch(/2\. api +API to async {2}after auth/);
    expect(text).toContain('Critical path: 3 tasks');
    expect(text).toContain('  auth -> api -> web\n');
    expect(text).toContain('  docs x web: web/*.md overlaps web/** (both match web/README.md)');
    expect(text).toContain('Concurrency: 2 effective of 4 configured');
  });

  it('plan --format mermaid and dot draw nodes with titles, edges, the critical path and conflicts', async () => {
    const m = String((await swarm(['plan', '--format', 'mermaid'], { cwd: repo.dir })).stdout);
    // Tasks sorted by id: api t0, auth t1, docs t2, web t3. (execa strips the final newline.)
    expect(m.split('\n')).toEqual([
      'flowchart LR',
      '  t0["api: API to async"]',
      '  t1["auth: Auth to async"]',
      '  t2["docs"]',
      '  t3["web: Web #quot;client#quot;"]',
      '  t1 --> t0',
      '  t0 --> t3',
      '  t2 -. files .- t3',
      '  classDef critical stroke:#d33,stroke-width:3px',
      '  class t1,t0,t3 critical',
      '  linkStyle 0,1 stroke:#d33,stroke-width:3px',
      '  linkStyle 2 stroke:#999',
    ]);
    const d = String((await swarm(['plan', '--format', 'dot'], { cwd: repo.dir })).stdout);
    expect(d).toContain('digraph "demo" {');
    expect(d).toContain('"web" [label="web\\nWeb \\"client\\"", color=red, penwidth=2];');
    expect(d).toContain('"docs" [label="docs"];');
    expect(d).toContain('"auth" -> "api" [color=red, penwidth=2];');
    expect(d).toContain('"docs" -> "web" [dir=none, style=dashed, color=gray, constraint=false, label="files"];');
    expect(d.trimEnd().endsWith('}')).toBe(true);
  });

  it('plan: exit 2 for a bad format or a bad file', async () => {
    const bad = await swarm(['plan', '--format', 'svg'], { cwd: repo.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--format: expected text, json, mermaid, dot, got "svg"');
    const cycle = await swarm(['plan', 'loop.yaml', '--format', 'json'], { cwd: repo.dir });
    expect(cycle.exitCode).toBe(2);
    expect(cycle.stdout).toBe('');
    expect(cycle.stderr).toContain('dependency cycle: a -> b -> a');
  });

  it('plan --concurrency caps the effective concurrency', async () => {
    const r = await swarm(['plan', '--format', 'json', '-c', '1'], { cwd: repo.dir });
    expect(JSON.parse(String(r.stdout))).toMatchObject({ concurrency: 1, effectiveConcurrency: 1 });
  });
});
