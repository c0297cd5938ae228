import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

// auth -> api -> web; docs owns web/*.md, so docs and web (which could run at once) share a
// shard. pkg is a template over seven values: its tasks are ordinary tasks and spread.
const FILE = `version: 1
name: demo
tasks:
  - id: auth
    prompt: Convert auth.
    files: ["src/auth/**"]
  - id: api
    prompt: Convert the API.
    files: ["src/api/*.ts"]
    depends_on: [auth]
  - id: web
    prompt: Update the web client.
    files: ["web/**"]
    depends_on: [api]
  - id: docs
    prompt: Document it.
    files: ["docs/**", "web/*.md"]
  - id: pkg
    for_each: { values: [a, b, c, d, e, f, g] }
    prompt: Migrate {{name}}.
    files: ["packages/{{name}}/**"]
`;

const ESTIMATED = `version: 1
name: timed
tasks:
  - { id: long, prompt: L., files: ["a/**"], estimate: 30m }
  - { id: mid, prompt: M., files: ["b/**"], estimate: 20m }
  - { id: short, prompt: S., files: ["c/**"], estimate: 10m }
  - { id: tiny, prompt: T., files: ["d/**"], estimate: 10m }
`;

describe('swarm plan --shards (built CLI, real git repository)', () => {
  let repo: TempRepo;
  beforeAll(() => {
    repo = tempRepo({ 'web/README.md': '# web\n', 'swarm.yaml': FILE, 'timed.yaml': ESTIMATED });
  });
  afterAll(() => repo.cleanup());

  it('text: each shard with its tasks, count and load; the groups kept together; cross-shard dependencies', async () => {
    const r = await swarm(['plan', '--shards', '3'], { cwd: repo.dir });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // Groups: docs+web (2), then the nine single tasks by id, each onto the least-loaded shard.
    expect(String(r.stdout)).toBe(
      [
        'demo: 11 tasks over 3 shards, for swarm run --shard K/3',
        'Load: 1 per task (no task has an estimate).',
        '',
        'Shard 1/3: 4 tasks, load 4 tasks',
        '  docs, pkg.c, pkg.f, web',
        '',
        'Shard 2/3: 4 tasks, load 4 tasks',
        '  api, pkg.a, pkg.d, pkg.g',
        '',
        'Shard 3/3: 3 tasks, load 3 tasks',
        '  auth, pkg.b, pkg.e',
        '',
        'Kept together because their globs overlap (1 group, each on one shard):',
        '  shard 1: docs + web',
        "Cross-shard dependencies: 2 (a task waits until its dependency's merge is on the remote's integration branch)",
      ].join('\n'),
    );
  });

  it('json: only the matrix, on one line, one entry per shard in order', async () => {
    const r = await swarm(['plan', 'swarm.yaml', '--shards', '3', '--format', 'json'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toBe('{"include":[{"shard":"1/3","tasks":4,"load":4},{"shard":"2/3","tasks":4,"load":4},{"shard":"3/3","tasks":3,"load":3}]}');
  });

  it('json: empty shards stay in the matrix so K/N is stable', async () => {
    const r = await swarm(['plan', '--shards', '12', '--format', 'json'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    const matrix = JSON.parse(String(r.stdout)) as { include: { shard: string; tasks: number; load: number }[] };
    expect(matrix.include.map((e) => e.shard)).toEqual(Array.from({ length: 12 }, (_, k) => `${k + 1}/12`));
    // Ten groups (docs+web together) over twelve shards: the first takes the pair, two are empty.
    expect(matrix.include.map((e) => e.tasks)).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    const text = await swarm(['plan', '--shards', '12'], { cwd: repo.dir });
    expect(String(text.stdout)).toContain('Shard 12/12: no tasks (its job finishes at once)');
  });

  it('estimates: loads are durations, longest first onto the least-loaded shard', async () => {
    const json = await swarm(['plan', 'timed.yaml', '--shards', '2', '--format', 'json'], { cwd: repo.dir });
    expect(JSON.parse(String(json.stdout))).toEqual({
      include: [
        { shard: '1/2', tasks: 2, load: 2_400_000 },
        { shard: '2/2', tasks: 2, load: 1_800_000 },
      ],
    });
    const text = String((await swarm(['plan', 'timed.yaml', '--shards', '2'], { cwd: repo.dir })).stdout);
    expect(text).toContain("Load: the tasks' estimates");
    // long (30m) -> 1; mid (20m) -> 2; short (10m) -> 2; tiny (10m) -> 1, the lower index of two at 30m.
    expect(text).toContain('Shard 1/2: 2 tasks, load 40m00s\n  long, tiny\n');
    expect(text).toContain('Shard 2/2: 2 tasks, load 30m00s\n  mid, short\n');
    expect(text).toContain('Kept together because their globs overlap: none');
    expect(text).toContain('Cross-shard dependencies: none');
  });

  it('ignores durations learnt on this machine: the split is the one every runner computes', async () => {
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      // Learnt: tiny is by far the longest. With them, LPT would put tiny alone on shard 1.
      store.recordDuration('tiny', 3_600_000);
      store.recordDuration('long', 1000);
    } finally {
      store.close();
    }
    // The ordinary plan does use them (so the database is found) ...
    const plain = JSON.parse(String((await swarm(['plan', 'timed.yaml', '--format', 'json'], { cwd: repo.dir })).stdout)) as {
      tasks: { id: string; weight: number }[];
    };
    expect(plain.tasks.find((t) => t.id === 'tiny')?.weight).toBe(3_600_000);
    // ... the shard plan does not.
    const r = await swarm(['plan', 'timed.yaml', '--shards', '2', '--format', 'json'], { cwd: repo.dir });
    expect(JSON.parse(String(r.stdout))).toEqual({
      include: [
        { shard: '1/2', tasks: 2, load: 2_400_000 },
        { shard: '2/2', tasks: 2, load: 1_800_000 },
      ],
    });
  });

  it('exit 2 with the flag named for a bad count, or a format that cannot show shards', async () => {
    const cases: [string[], string][] = [
      [['--shards', '0'], 'swarm plan: --shards: expected a positive integer, got "0"'],
      [['--shards', 'four'], 'swarm plan: --shards: expected a positive integer, got "four"'],
      [['--shards', '2.5'], 'swarm plan: --shards: expected a positive integer, got "2.5"'],
      [['--shards', '257'], 'swarm plan: --shards: expected at most 256 (a GitHub Actions matrix holds at most 256 jobs), got 257'],
      [['--shards', '2', '--format', 'mermaid'], 'swarm plan: --shards: expected --format text or json, got --format mermaid'],
      [['--shards', '2', '--format', 'dot'], 'swarm plan: --shards: expected --format text or json, got --format dot'],
    ];
    for (const [args, message] of cases) {
      const r = await swarm(['plan', ...args], { cwd: repo.dir });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(message);
    }
    const ok = await swarm(['plan', '--shards', '256', '--format', 'json'], { cwd: repo.dir });
    expect(ok.exitCode).toBe(0);
    expect((JSON.parse(String(ok.stdout)) as { include: unknown[] }).include).toHaveLength(256);
  });
});
