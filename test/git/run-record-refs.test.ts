import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import type { RecordEntry } from '../../src/engine/ports.js';
import { taskHash } from '../../src/engine/resume.js';
import { parseRecordLog } from '../../src/git/record.js';
import { buildRunView, parseMessage, parseRefList, type RefEntry } from '../../src/git/run-record-refs.js';
import { collectRecordStatus, formatRecordStatus, SILENT_AFTER_MS } from '../../src/report/record-status.js';

const SHA = (n: number) => n.toString(16).padStart(40, '0');

function failedRef(run: string, name: string, trailers: Record<string, string>, detail = 'it broke', at = 1000): RefEntry {
  const t = Object.entries(trailers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return { ref: `refs/swarm/${run}/failed/${name}`, sha: SHA(at), at, message: `swarm: task ${name} failed\n\n${detail}\n\n${t}\n` };
}

function shardRef(run: string, name: string, trailers: Record<string, string>, at = 5000): RefEntry {
  const t = Object.entries(trailers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return { ref: `refs/swarm/${run}/shards/${name}`, sha: SHA(at), at, message: `swarm: shard of ${run}\n\n${t}\n` };
}

describe('parsing the record refs', () => {
  it('a message: subject, the paragraphs between, the trailers of the last paragraph', () => {
    expect(
      parseMessage('swarm: task c failed\n\ncheck failed\nline 2\n\nmore: here too\nand this\n\nSwarm-Run: r\nSwarm-Task: c\nSwarm-State: conflicted\n'),
    ).toEqual({
      subject: 'swarm: task c failed',
      body: 'check failed\nline 2\n\nmore: here too\nand this',
      trailers: new Map([
        ['Swarm-Run', 'r'],
        ['Swarm-Task', 'c'],
        ['Swarm-State', 'conflicted'],
      ]),
    });
    // No trailer paragraph: the last paragraph stays in the body.
    expect(parseMessage('subject\n\nnot a trailer line\nSwarm-Run: r')).toEqual({
      subject: 'subject',
      body: 'not a trailer line\nSwarm-Run: r',
      trailers: new Map(),
    });
  });

  it("for-each-ref's output, NUL-separated with the message last", () => {
    const out = `refs/swarm/r/failed/a\0${SHA(1)}\x001700000000\0swarm: task a failed\n\nx\n\0\nrefs/swarm/r/shards/1-of-2\0${SHA(2)}\0\0msg\n\0\n`;
    expect(parseRefList(out)).toEqual([
      { ref: 'refs/swarm/r/failed/a', sha: SHA(1), at: 1_700_000_000_000, message: 'swarm: task a failed\n\nx\n' },
      { ref: 'refs/swarm/r/shards/1-of-2', sha: SHA(2), message: 'msg\n' },
    ]);
  });

  it("git log's record entries carry the shard and the landing time", () => {
    const out = `${SHA(7)}\x1f1700000001\x1fSwarm-Run: r\nSwarm-Task: a\nSwarm-Task-Hash: h\nSwarm-Commit: ${SHA(8)}\nSwarm-Shard: 2/3\n\x1e\n${SHA(9)}\x1f1\x1fSwarm-Run: other\n\x1e`;
    expect(parseRecordLog(out, 'r')).toEqual([{ landed: SHA(7), run: 'r', task: 'a', hash: 'h', commit: SHA(8), shard: '2/3', at: 1_700_000_001_000 }]);
  });
});

describe('buildRunView', () => {
  const record: RecordEntry[] = [
    { landed: SHA(3), run: 'r', task: 'a', hash: 'h2', commit: SHA(30), shard: '2/3', at: 3000 },
    { landed: SHA(2), run: 'r', task: 'b', hash: 'hb', commit: SHA(20), at: 2000 },
    { landed: SHA(1), run: 'r', task: 'a', hash: 'h1', commit: SHA(10), shard: '1/3', at: 1000 },
    { landed: SHA(4), run: 'r', base: SHA(99) },
  ];

  it('the newest landing of each task; failures and shards from refs whose trailers agree with their names', () => {
    const refs = [
      failedRef(
        'r',
        'c',
        { 'Swarm-Run': 'r', 'Swarm-Task': 'c', 'Swarm-Task-Hash': 'hc', 'Swarm-State': 'conflicted', 'Swarm-Shard': '3/3' },
        'merge conflict in c.ts\n\nmore',
      ),
      // Escape sequences in a record never reach the terminal.
      failedRef(
        'r',
        'd',
        { 'Swarm-Run': 'r', 'Swarm-Task': 'd', 'Swarm-Task-Hash': 'hd', 'Swarm-State': 'failed' },
        'it \u001b[31mbroke\u001b]0;title\u0007\u009b2J\u0008',
      ),
      // Another run's, another task's, or a ref nested deeper: not evidence.
      failedRef('r', 'x', { 'Swarm-Run': 'other', 'Swarm-Task': 'x' }),
      failedRef('r', 'y', { 'Swarm-Run': 'r', 'Swarm-Task': 'z', 'Swarm-Task-Hash': 'hz', 'Swarm-State': 'failed' }),
      // Read as the runners read it: no hash, or a state outside the contract, is no record.
      failedRef('r', 'v', { 'Swarm-Run': 'r', 'Swarm-Task': 'v', 'Swarm-State': 'failed' }),
      failedRef('r', 'u', { 'Swarm-Run': 'r', 'Swarm-Task': 'u', 'Swarm-Task-Hash': 'hu', 'Swarm-State': 'exploded' }),
      { ...failedRef('r', 'w', { 'Swarm-Run': 'r', 'Swarm-Task': 'w' }), ref: 'refs/swarm/r/failed/w/deeper' },
      failedRef('r2', 'q', { 'Swarm-Run': 'r2', 'Swarm-Task': 'q' }),
      shardRef('r', '1-of-3', {
        'Swarm-Run': 'r',
        'Swarm-Shard': '1/3',
        'Swarm-Runner': 'host-a\u001b[2J 12 8812345',
        'Swarm-Heartbeat': '2026-01-01T00:00:00.000Z',
        'Swarm-State': 'running',
      }),
      // No heartbeat trailer: the commit's date; a state swarm does not know: unknown.
      shardRef('r', '2-of-3', { 'Swarm-Run': 'r', 'Swarm-Shard': '2/3', 'Swarm-State': 'exploded' }, 7000),
      shardRef('r', '3-of-3', { 'Swarm-Run': 'r', 'Swarm-Shard': '1/3', 'Swarm-State': 'running' }),
      shardRef('r', '4-of-3', { 'Swarm-Run': 'r', 'Swarm-Shard': '4/3', 'Swarm-State': 'running' }),
    ];
    const view = buildRunView('r', 'refs/remotes/origin/swarm/r', SHA(3), record, refs);
    expect([...view.merged.values()]).toEqual([
      { task: 'a', hash: 'h2', landed: SHA(3), commit: SHA(30), shard: '2/3', at: 3000 },
      { task: 'b', hash: 'hb', landed: SHA(2), commit: SHA(20), at: 2000 },
    ]);
    expect([...view.failed.values()]).toEqual([
      { task: 'c', hash: 'hc', state: 'conflicted', detail: 'merge conflict in c.ts\n\nmore', shard: '3/3', commit: SHA(1000), at: 1000 },
      { task: 'd', hash: 'hd', state: 'failed', detail: 'it broke', commit: SHA(1000), at: 1000 },
    ]);
    expect(view.shards).toEqual([
      { shard: '1/3', index: 1, count: 3, state: 'running', runner: { host: 'host-a', pid: 12 }, heartbeat: Date.parse('2026-01-01T00:00:00.000Z') },
      { shard: '2/3', index: 2, count: 3, state: 'unknown', heartbeat: 7000 },
      { shard: '3/3', index: 3, count: 3, state: 'absent' },
    ]);
  });

  it('shard counts that disagree are listed as they are, none filled in; no shard at all: none', () => {
    const refs = [shardRef('r', '1-of-2', { 'Swarm-Run': 'r', 'Swarm-Shard': '1/2', 'Swarm-State': 'finished' })];
    expect(buildRunView('r', 'x', undefined, [], refs).shards.map((s) => [s.shard, s.state])).toEqual([
      ['1/2', 'finished'],
      ['2/2', 'absent'],
    ]);
    // The record says 3 shards (a's landings), the ref 2: nothing is filled in.
    expect(buildRunView('r', 'x', undefined, record, refs).shards.map((s) => s.shard)).toEqual(['1/2']);
    const view = buildRunView(
      'r',
      'x',
      undefined,
      [],
      [...refs, shardRef('r', '1-of-3', { 'Swarm-Run': 'r', 'Swarm-Shard': '1/3', 'Swarm-State': 'running' })],
    );
    expect(view.shards.map((s) => s.shard)).toEqual(['1/2', '1/3']);
    expect(buildRunView('r', 'x', undefined, [{ landed: SHA(2), run: 'r', task: 'b', hash: 'hb', commit: SHA(20) }], []).shards).toEqual([]);
  });
});

describe('collectRecordStatus', () => {
  const spec = parseSpec(
    `version: 1
name: r
agent: { kind: command, command: ["true"], sandbox: off }
tasks:
  - { id: a, prompt: A., files: ["a/**"] }
  - { id: b, prompt: B., files: ["b/**"] }
  - { id: c, prompt: C., files: ["c/**"], depends_on: [b] }
  - { id: d, prompt: D., files: ["d/**"], depends_on: [c] }
  - { id: e, prompt: E., files: ["e/**"], depends_on: [a] }
  - { id: f, prompt: F., files: ["f/**"], depends_on: [a, b] }
`,
    '/x/swarm.yaml',
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.error));
  const s = spec.value;
  const hash = (id: string) => taskHash(s, s.tasks.find((t) => t.id === id)!);

  it('merged, failed after its merge, merged after a stale failure, blocked transitively, waiting, and tasks the file lost', () => {
    const record: RecordEntry[] = [
      { landed: SHA(3), run: 'r', task: 'a', hash: hash('a'), commit: SHA(30), at: 5000 },
      { landed: SHA(4), run: 'r', task: 'e', hash: 'old-e', commit: SHA(40), at: 2000 },
      { landed: SHA(2), run: 'r', task: 'b', hash: 'old', commit: SHA(20), at: 1000 },
      { landed: SHA(1), run: 'r', task: 'gone', hash: 'h', commit: SHA(10), shard: '1/2', at: 500 },
    ];
    const refs = [
      // a failed before its merge (a record left behind): merged counts. b failed after: failed.
      failedRef('r', 'a', { 'Swarm-Run': 'r', 'Swarm-Task': 'a', 'Swarm-Task-Hash': hash('a'), 'Swarm-State': 'failed' }, 'old failure', 4),
      failedRef(
        'r',
        'b',
        { 'Swarm-Run': 'r', 'Swarm-Task': 'b', 'Swarm-Task-Hash': 'older', 'Swarm-State': 'failed', 'Swarm-Shard': '2/2' },
        '\nagent exited 3\nits log',
        9,
      ),
      shardRef('r', '1-of-2', { 'Swarm-Run': 'r', 'Swarm-Shard': '1/2', 'Swarm-Heartbeat': new Date(100_000).toISOString(), 'Swarm-State': 'running' }),
      shardRef('r', '2-of-2', { 'Swarm-Run': 'r', 'Swarm-Shard': '2/2', 'Swarm-Heartbeat': new Date(100_000).toISOString(), 'Swarm-State': 'finished' }),
    ];
    const view = buildRunView(
      'r',
      'refs/heads/swarm/r',
      SHA(3),
      record,
      refs.map((r) => ({ ...r, at: (r.at ?? 0) * 1000 })),
    );
    const st = collectRecordStatus(s, view, { kind: 'branch' }, 100_000 + SILENT_AFTER_MS + 1);
    expect(st.tasks.map((t) => [t.id, t.state, t.detail ?? ''])).toEqual([
      ['a', 'merged', ''],
      ['b', 'failed', 'agent exited 3 (redefined since)'],
      ['c', 'blocked', 'blocked by b (failed)'],
      ['d', 'blocked', 'blocked by c (blocked)'],
      ['e', 'merged', 'merged, redefined since: `swarm run` runs it again'],
      ['f', 'blocked', 'blocked by b (failed)'],
    ]);
    expect(st.tasks[1]).toMatchObject({ shard: '2/2', redefined: true, recordedHash: 'older', failure: 'agent exited 3\nits log' });
    expect(st.unknown).toEqual([{ id: 'gone', state: 'merged', shard: '1/2' }]);
    expect(st.tasks[4]).toMatchObject({ redefined: true, recordedHash: 'old-e', landed: SHA(4), commit: SHA(40), at: 2000 });
    expect(st.tasks[0]!.redefined).toBeUndefined();
    expect(st.counts).toEqual({ merged: 2, failed: 1, blocked: 3 });
    expect(st.redefined).toBe(1);
    expect(st.shards).toEqual([
      { shard: '1/2', state: 'running', heartbeat: 100_000, heartbeatAgeMs: SILENT_AFTER_MS + 1, silent: true },
      { shard: '2/2', state: 'finished', heartbeat: 100_000, heartbeatAgeMs: SILENT_AFTER_MS + 1 },
    ]);
  });

  it('a task waits for its dependencies not merged yet; nothing recorded: every task pending', () => {
    const view = buildRunView('r', 'refs/remotes/origin/swarm/r', undefined, [], []);
    const st = collectRecordStatus(s, view, { kind: 'remote', remote: 'origin' }, 0);
    expect(st.tasks.map((t) => t.detail)).toEqual(['not merged yet', 'not merged yet', 'waits for b', 'waits for c', 'waits for a', 'waits for a, b']);
    expect(st.head).toBeUndefined();
    expect(st.shards).toEqual([]);
  });

  it("text: a template's tasks fold into one row with their shards and counts; --expand lists them", () => {
    const t = parseSpec(
      `version: 1
name: t
agent: { kind: command, command: ["true"], sandbox: off }
tasks:
  - { id: solo, prompt: S., files: ["s/**"] }
  - id: m
    for_each: { values: [x, y, z] }
    prompt: Do {{name}}.
    files: ["m/{{name}}/**"]
`,
      '/x/swarm.yaml',
    );
    if (!t.ok) throw new Error(JSON.stringify(t.error));
    const h = (id: string) => taskHash(t.value, t.value.tasks.find((x) => x.id === id)!);
    const view = buildRunView(
      't',
      'refs/remotes/origin/swarm/t',
      SHA(1),
      [{ landed: SHA(1), run: 't', task: 'm.x', hash: h('m.x'), commit: SHA(10), shard: '2/2' }],
      [failedRef('t', 'm.y', { 'Swarm-Run': 't', 'Swarm-Task': 'm.y', 'Swarm-Task-Hash': h('m.y'), 'Swarm-State': 'failed', 'Swarm-Shard': '1/2' })],
    );
    const st = collectRecordStatus(t.value, view, { kind: 'remote', remote: 'origin' }, 0);
    expect(st.tasks.map((x) => [x.id, x.template ?? '', x.match ?? ''])).toEqual([
      ['solo', '', ''],
      ['m.x', 'm', 'x'],
      ['m.y', 'm', 'y'],
      ['m.z', 'm', 'z'],
    ]);
    const folded = formatRecordStatus(st);
    expect(folded).toContain('\nsolo   not merged  -        not merged yet\nm (3)  template    1/2,2/2  1 merged, 1 failed, 1 not merged yet\n\n');
    expect(formatRecordStatus(st, { expand: true })).toContain(
      '\nm (3)  template    1/2,2/2  1 merged, 1 failed, 1 not merged yet\n  m.x  merged      2/2\n  m.y  failed      1/2      it broke\n  m.z  not merged  -        not merged yet\n',
    );
  });
});
