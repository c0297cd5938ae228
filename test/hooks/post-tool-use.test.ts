/**
 * `swarm hook post-tool-use` through the built CLI, against a real state.db: it hands a task's
 * undelivered messages to its agent once, records the receipt in the task's outbox (the
 * runner marks them delivered from there), and says nothing to other tasks or without news.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/hooks/outbox.js';
import { HOST, openStore, type SqliteStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';

let dir: string;
let db: string;
let store: SqliteStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-post-hook-'));
  db = join(dir, 'state.db');
  store = openStore(db);
  store.saveRun({ name: 'r', file: 'swarm.yaml', into: 'swarm/r', baseSha: 'x', status: 'running', pid: process.pid, host: HOST, startedAt: 1, costUsd: 0 }, [
    { task: 'a', hash: 'h', state: 'running' },
    { task: 'b', hash: 'h', state: 'running' },
  ]);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const hook = (task: string, outbox?: string) =>
  swarm(['hook', 'post-tool-use'], {
    stdin: 'pipe',
    input: JSON.stringify({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' } }),
    env: { SWARM_STATE_DB: db, SWARM_RUN: 'r', SWARM_TASK: task, ...(outbox ? { SWARM_OUTBOX: outbox } : {}) },
  });

describe('swarm hook post-tool-use', () => {
  it('hands each message to its task once, with its sender, and records the receipt', async () => {
    const outbox = join(dir, 'a.outbox.jsonl');
    const first = store.messages.send({ run: 'r', kind: 'message', sender: 'alice', to: 'a', body: 'FIRST' });
    store.messages.send({ run: 'r', kind: 'message', fromTask: 'b', to: 'a', body: 'SECOND' });

    const out = await hook('a', outbox);
    expect(out.exitCode).toBe(0);
    const parsed = JSON.parse(String(out.stdout)) as { hookSpecificOutput: { hookEventName: string; additionalContext: string } };
    expect(parsed.hookSpecificOutput.hookEventName).toBe('PostToolUse');
    expect(parsed.hookSpecificOutput.additionalContext).toBe(
      [
        'swarm: 2 messages for you (task a) arrived while you work:',
        '  - from alice (a person): FIRST',
        '  - from task b: SECOND',
        'Take this into account in what you do next. To reply to a task: swarm msg <task> "..."',
      ].join('\n'),
    );
    // The receipt is in the outbox (state.db is read-only in the sandbox), not in state.db yet.
    expect(readOutbox(outbox).entries).toEqual([expect.objectContaining({ kind: 'ack', ids: [first.id, first.id + 1] })]);
    expect(store.messages.undelivered('r', 'a')).toHaveLength(2);

    // The next tool call: nothing new, nothing said; task b has nothing either.
    expect(String((await hook('a', outbox)).stdout)).toBe('');
    expect(String((await hook('b', join(dir, 'b.outbox.jsonl'))).stdout)).toBe('');

    // A third message: only it comes.
    store.messages.send({ run: 'r', kind: 'message', sender: 'alice', to: 'a', body: 'THIRD' });
    const third = JSON.parse(String((await hook('a', outbox)).stdout)) as { hookSpecificOutput: { additionalContext: string } };
    expect(third.hookSpecificOutput.additionalContext).toContain('a message for you (task a) arrived while you work:\n  - from alice (a person): THIRD\n');
    expect(String((await hook('a', outbox)).stdout)).toBe('');
    expect(readFileSync(outbox, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('without an outbox (run by hand, unsandboxed), marks them delivered in state.db', async () => {
    const m = store.messages.send({ run: 'r', kind: 'message', sender: 'alice', to: 'b', body: 'DIRECT' });
    expect(String((await hook('b')).stdout)).toContain('DIRECT');
    expect(store.messages.undelivered('r', 'b')).toEqual([]);
    expect(store.messages.involving('r', 'b').find((x) => x.id === m.id)).toMatchObject({ deliveredHow: 'hook' });
    expect(String((await hook('b')).stdout)).toBe('');
  });

  it('outside a swarm task it says nothing', async () => {
    const out = await swarm(['hook', 'post-tool-use'], { stdin: 'pipe', input: '{}', env: { SWARM_STATE_DB: '', SWARM_RUN: '', SWARM_TASK: '' } });
    expect(out.exitCode).toBe(0);
    expect(String(out.stdout)).toBe('');
  });
});
