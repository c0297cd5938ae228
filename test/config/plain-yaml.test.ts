import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, test } from 'vitest';
import { MAX_ALIAS_COUNT, parseSpec, parseSpecDocument } from '../../src/config/load.js';
import { readPlainYaml } from '../../src/config/plain-yaml.js';
import { EXAMPLE_OPTIONS } from './helpers.js';

// The fast reader may decline any file; what it must never do is read a file differently
// from the `yaml` package's document API, which defines what a swarm file means.

/** What the document API makes of `text`, or undefined when it reports any problem. */
function documentValue(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: false, logLevel: 'silent' });
  if (doc.errors.length > 0) return undefined;
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch {
    return undefined;
  }
}

function expectSameMeaning(text: string): 'read' | 'declined' {
  const fast = readPlainYaml(text);
  if (fast === undefined) return 'declined';
  const careful = documentValue(text);
  expect(careful, `the fast reader accepted what the document API refuses:\n${text}`).toBeDefined();
  expect(fast.value, `the readers disagree on:\n${text}`).toEqual(careful!.value);
  return 'read';
}

describe('the fast YAML reader', () => {
  test.each([
    ['YAML 1.1 directive (yes, 0b11 and 010 change meaning)', '%YAML 1.1\n---\na: yes\nb: 0b11\nc: 010\n'],
    ['tag directive', '%TAG !e! tag:example.com,2000:\n---\na: 1\n'],
    ['explicit core tag', 'a: !!float 1\n'],
    ['local tag', 'a: !foo x\n'],
    ['alias', 'a: &x 1\nb: *x\n'],
    ['merge key through an alias', 'base: &b {x: 1}\nc:\n  <<: *b\n'],
    ['merge key of a list of scalars (an error to the document API, a string key to js-yaml)', '<<:\n- on\n'],
    ['complex key', '? [a, b]\n: 1\n'],
    ['flow-sequence key', '[a]: 1\n'],
    ['duplicate key', 'a: 1\na: 2\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['empty file', ''],
    ['comments only', '# nothing\n'],
    ['syntax error', 'a: [1, 2\n'],
    ['tab indentation', 'a:\n\t- 1\n'],
  ])('declines: %s', (_name, text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });

  test.each([
    ['plain map', 'version: 1\nname: x\n', { version: 1, name: 'x' }],
    [
      'core schema scalars',
      'a: 0o17\nb: 0x1F\nc: 1_000\nd: True\ne: ~\nf: yes\ng: 2001-12-14\n',
      { a: 15, b: 31, c: '1_000', d: true, e: null, f: 'yes', g: '2001-12-14' },
    ],
    ['a byte-order mark', '\ufeffa: 1\n', { a: 1 }],
    ['CRLF line ends', 'a: 1\r\nb: |\r\n  x\r\n', { a: 1, b: 'x\n' }],
    ['an anchor nobody refers to', 'a: &x 1\n', { a: 1 }],
  ])('reads: %s', (_name, text, value) => {
    expect(readPlainYaml(text)).toEqual({ value });
    expect(expectSameMeaning(text)).toBe('read');
  });

  test('reads every shipped swarm file exactly as the document API does', () => {
    const root = join(import.meta.dirname, '../..');
    const files = [
      join(root, 'swarm.yaml.example'),
      ...readdirSync(join(root, 'examples'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(root, 'examples', f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect(expectSameMeaning(readFileSync(file, 'utf8')), file).toBe('read');
  });

  // SWARM_YAML_FUZZ=60000 (and SWARM_YAML_FUZZ_SEED) for a longer run than the suite's.
  const documents = Number(process.env.SWARM_YAML_FUZZ ?? 1500);
  test(`agrees with the document API on ${documents} generated documents full of edge cases`, () => {
    const rand = rng(Number(process.env.SWARM_YAML_FUZZ_SEED ?? 7));
    const counts = { read: 0, declined: 0 };
    for (let i = 0; i < documents; i++) counts[expectSameMeaning(randomDocument(rand))]++;
    // Both outcomes must be common, or the generator is not testing what it claims to.
    expect(counts.read).toBeGreaterThan(documents * 0.27);
    expect(counts.declined).toBeGreaterThan(documents * 0.07);
  });
});

describe('parseSpec: the fast path and the document API give the same spec', () => {
  const root = join(import.meta.dirname, '../..');
  const files = [
    'swarm.yaml.example',
    ...readdirSync(join(root, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `examples/${f}`),
  ];

  test.each(files)('%s', (name) => {
    const file = join(root, name);
    const text = readFileSync(file, 'utf8');
    const fast = parseSpec(text, file, EXAMPLE_OPTIONS);
    const careful = parseSpecDocument(text, file, EXAMPLE_OPTIONS);
    expect(fast.ok && careful.ok).toBe(true);
    if (!fast.ok || !careful.ok) return;
    // Locations are found lazily on the fast path; reading them must give the same places.
    expect(fast.value.tasks.map((t) => t.loc)).toEqual(careful.value.tasks.map((t) => t.loc));
    expect(fast.value).toEqual(careful.value);
  });

  test('a valid file the fast reader declines (anchors, aliases, merge keys) still loads, by the document API', () => {
    const text = [
      'version: 1',
      'name: t',
      'agent: &base',
      '  kind: command',
      '  command: [node, agent.js]',
      'tasks:',
      '  - id: a',
      '    prompt: x',
      '    files: [a/**]',
      '    agent:',
      '      <<: *base',
      '      args: [--fast]',
      '',
    ].join('\n');
    expect(readPlainYaml(text)).toBeUndefined();
    const spec = parseSpec(text, 'swarm.yaml');
    expect(spec.ok).toBe(true);
    if (!spec.ok) return;
    expect(spec.value.tasks[0]!.agent).toMatchObject({ kind: 'command', command: ['node', 'agent.js'], args: ['--fast'] });
    expect(spec.value.tasks[0]!.loc.id).toMatchObject({ line: 7, col: 9 });
  });

  test('a task location on the fast path points at the id as written', () => {
    const text = [
      'version: 1',
      'name: t',
      'tasks:',
      '  - id: first',
      '    prompt: x',
      '    files: [a/**]',
      '  - id: second',
      '    prompt: y',
      '    files: ["b/*.ts", c.md]',
      '    depends_on: [first]',
      '',
    ].join('\n');
    const spec = parseSpec(text, 'swarm.yaml');
    expect(spec.ok).toBe(true);
    if (!spec.ok) return;
    const second = spec.value.tasks[1]!;
    expect(second.loc.id).toMatchObject({ file: 'swarm.yaml', line: 7, col: 9 });
    expect(second.loc.files?.map((l) => l && [l.line, l.col])).toEqual([
      [9, 13],
      [9, 23],
    ]);
    expect(second.loc.dependsOn?.map((l) => l && [l.line, l.col])).toEqual([[10, 18]]);
  });
});

// --- a generator of YAML that exercises where two readers could part ways ----------------

type Rand = (n: number) => number;

function rng(seed: number): Rand {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[rand(xs.length)]!;

const PLAIN = [
  '1',
  '-0',
  '+12',
  '007',
  '0o17',
  '0o8',
  '0x1F',
  '0xg',
  '-0x1',
  '1_000',
  '0b11',
  '.5',
  '1.',
  '1e3',
  '1.e3',
  '.e3',
  '12e03',
  '-.5',
  '.inf',
  '-.INF',
  '+.inf',
  '.NaN',
  '.nan',
  'nan',
  'true',
  'True',
  'TRUE',
  'tRUE',
  'false',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'null',
  'Null',
  'NULL',
  'nULL',
  '~',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '1:20',
  '190:20:30',
  '=',
  '<<',
  'src/**',
  'a b',
  'x #not a comment',
  'a:b',
  'http://x.y/z',
  '-x',
  '?x',
  ':x',
  'a,b',
  'é',
  '1 2',
];
const QUOTED = [
  "''",
  '""',
  "'it''s'",
  '"a\\tb"',
  '"\\u00e9\\x41\\/"',
  '"\\N\\_\\L\\P"',
  "'x #y'",
  '"multi\n  line"',
  "'fold\n\n  ed'",
  '"\\\n  joined"',
  '"\\e\\a"',
];
const BAD = ['@x', '`x`', '!x', '*x', '&a', '%x', '[', '{', 'a: b: c', '"open', '|x', '>x'];
const KEYS = ['a', 'b', 'id', 'files', 'version', '"q k"', "'s k'", 'x y', '? e', '-k', 'é', '"1"', 'a.b'];
/** Keys the two readers could spell differently: the fast reader must decline them. */
const ODD_KEYS = ['1', 'true', 'null', '~', '<<', '0x10', '1e3', '.inf', 'NULL'];
const key = (rand: Rand): string => (rand(25) === 0 ? pick(rand, ODD_KEYS) : pick(rand, KEYS));

function scalar(rand: Rand): string {
  const r = rand(100);
  if (r < 60) return pick(rand, PLAIN);
  if (r < 94) return pick(rand, QUOTED);
  if (r < 98) return `&a${rand(3)} ${pick(rand, PLAIN)}`;
  return pick(rand, BAD);
}

function blockScalar(rand: Rand, indent: string): string {
  const header = pick(rand, ['|', '|-', '|+', '>', '>-', '>+', '|2', '>1', '|-2']);
  const body = Array.from({ length: 1 + rand(4) }, () => pick(rand, ['text', '  more', '', 'a: b', '# hash', '- dash', '\ttab', '  ']));
  const lines = body.map((l) => (l === '' ? '' : `${indent}  ${l}`));
  return `${header}\n${lines.join('\n')}${rand(2) === 0 ? '\n' : '\n\n'}`;
}

function flow(rand: Rand, depth: number): string {
  if (depth <= 0 || rand(3) === 0)
    return rand(4) === 0
      ? pick(
          rand,
          QUOTED.filter((q) => !q.includes('\n')),
        )
      : pick(
          rand,
          PLAIN.filter((p) => !/[,#:[\]{}]/.test(p)),
        );
  if (rand(2) === 0) return `[${Array.from({ length: rand(4) }, () => flow(rand, depth - 1)).join(', ')}${rand(5) === 0 ? ',' : ''}]`;
  const keys = [...new Set(Array.from({ length: rand(4) }, () => key(rand)))].filter((k) => !k.startsWith('?'));
  return `{${keys.map((k) => (rand(5) === 0 ? k : `${k}: ${flow(rand, depth - 1)}`)).join(', ')}}`;
}

function blockValue(rand: Rand, indent: string, depth: number): string {
  const r = rand(10);
  if (depth > 0 && r < 3) return `\n${blockMap(rand, `${indent}  `, depth - 1)}`;
  if (depth > 0 && r < 5) return `\n${blockSeq(rand, `${indent}${rand(2) === 0 ? '' : '  '}`, depth - 1)}`;
  if (r < 6) return `${` ${blockScalar(rand, indent)}`.trimEnd()}\n`;
  if (r < 7) return ` ${flow(rand, 2)}\n`;
  const comment = rand(6) === 0 ? '  # note' : '';
  return ` ${scalar(rand)}${comment}${rand(8) === 0 ? '  ' : ''}\n`;
}

function blockMap(rand: Rand, indent: string, depth: number): string {
  const keys = new Set<string>();
  const n = 1 + rand(4);
  let out = '';
  for (let i = 0; i < n; i++) {
    // Duplicate keys now and then: both readers must refuse them.
    const k = key(rand);
    if (keys.has(k) && rand(10) !== 0) continue;
    keys.add(k);
    out += `${indent}${k}:${blockValue(rand, indent, depth)}`;
    if (rand(10) === 0) out += rand(2) === 0 ? '\n' : `${indent}# comment\n`;
  }
  return out;
}

function blockSeq(rand: Rand, indent: string, depth: number): string {
  let out = '';
  for (let i = 0, n = 1 + rand(3); i < n; i++) {
    const r = rand(6);
    if (depth > 0 && r === 0) {
      const inner = blockMap(rand, `${indent}  `, depth - 1);
      out += `${indent}- ${inner.slice(indent.length + 2)}`;
    } else {
      out += `${indent}-${blockValue(rand, indent, Math.min(depth, 1))}`;
    }
  }
  return out;
}

function randomDocument(rand: Rand): string {
  let text = blockMap(rand, '', 3);
  const r = rand(20);
  if (r === 0) text = `---\n${text}`;
  else if (r === 1) text = `${text}...\n`;
  else if (r === 2) text = text.replace(/\n/g, '\r\n');
  else if (r === 3) text = `# header\n\n${text}`;
  return text;
}
