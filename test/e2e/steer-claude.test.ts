/**
 * Steering a live run with the REAL claude (node_modules/.bin/claude, 2.1.110) against the
 * scripted model server, through the built CLI, with the agents in the sandbox where it
 * works here (lease.enforce block, sandbox auto: state.db is read-only to the agents, so
 * what they send goes through their outboxes):
 *
 * - a message sent by a person with `swarm msg` while an agent works appears in that
 *   agent's NEXT request to the model (the PostToolUse hook's additionalContext), once;
 * - `swarm msg b ...` run by agent a in its Bash reaches agent b, named as from task a;
 * - a's Write of a file that running task b owns is refused with a reason that names b and
 *   the `swarm msg b` command;
 * - `swarm note ...` by a reaches the prompt of c, which depends on a;
 * - the preamble lists the other running task and how to message it.
 *
 * The agents wait inside a Bash tool for a file the test creates, so the order of things is
 * set by the test, not by sleeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reapOrphans } from '../../src/agents/orphans.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo } from '../helpers/git-repo.js';
import {
  claudeEnv,
  messagesText,
  reply,
  startModelServer,
  toolResults,
  toolUse,
  type ModelServer,
  type RecordedRequest,
  type Turn,
} from '../helpers/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const RUN = 'steer';

let server: ModelServer;
let home: string;
let gates: string;

beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-steer-home-'));
  gates = mkdtempSync(join(tmpdir(), 'swarm-steer-gates-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(gates, { recursive: true, force: true });
});

const taskOf = (req: RecordedRequest) => /You are the agent for task "([^"]+)"/.exec(messagesText(req))?.[1];
const stepOf = (req: RecordedRequest) =>
  (req.body?.messages ?? []).reduce((n, m) => n + (typeof m.content === 'string' ? 0 : m.content.filter((b) => b.type === 'tool_result').length), 0);
const worktreeOf = (req: RecordedRequest) => {
  const system = req.body?.system;
  const text = Array.isArray(system) ? system.map((b: { text?: string }) => b.text ?? '').join('\n') : String(system ?? '');
  return /Primary working directory: (.+)/.exec(text)?.[1]?.trim() ?? '';
};
const bash = (command: string): Turn => toolUse('Bash', { command, description: 'steer test step' });
const waitGate = (name: string) => bash(`while [ ! -e ${join(gates, name)} ]; do sleep 0.1; done; echo passed ${name}`);
const open = (name: string) => writeFileSync(join(gates, name), '');
const resultText = (req: RecordedRequest) =>
  toolResults(req)
    .map((b) => JSON.stringify(b.content))
    .join('\n');

describe('steering a live run with the real claude', { timeout: 240_000 }, () => {
  it('passes messages from a person and between agents, names the owner of a refused file, and hands notes to dependents', async () => {
    const repo = tempRepo({ 'README.md': '# steer\n' });
    const steps: Record<string, ((req: RecordedRequest, wt: string) => Turn)[]> = {
      a: [
        () => bash('swarm msg b "A-TO-B: keep the export named foo"'),
        () => waitGate('go-a'),
        (_req, wt) => toolUse('Write', { file_path: join(wt, 'lib/b/from-a.txt'), content: 'a was here\n' }),
        () => bash('swarm note "NOTE-FOR-C: use the v2 format"'),
        (_req, wt) => toolUse('Write', { file_path: join(wt, 'lib/a/a.txt'), content: 'A\n' }),
        () => reply('a done'),
      ],
      b: [() => waitGate('go-b'), (_req, wt) => toolUse('Write', { file_path: join(wt, 'lib/b/b.txt'), content: 'B1\n' }), () => reply('b done')],
      c: [(_req, wt) => toolUse('Write', { file_path: join(wt, 'lib/c/c.txt'), content: 'C\n' }), () => reply('c done')],
    };
    server.setScript((req) => {
      const task = taskOf(req);
      const step = task === undefined ? undefined : steps[task]?.[stepOf(req)];
      return step === undefined ? reply(`confused: ${task} step ${stepOf(req)}`) : step(req, worktreeOf(req));
    });
    const yaml = [
      'version: 1',
      `name: ${RUN}`,
      'concurrency: 2',
      'retries: 0',
      'timeout: 3m',
      'agent:',
      '  kind: claude',
      `  bin: ${JSON.stringify(CLAUDE)}`,
      '  permission_mode: acceptEdits',
      '  allowed_tools: [Read, Write, Edit, Bash]',
      'tasks:',
      '  - { id: a, title: Task A, prompt: Do a., files: ["lib/a/**"] }',
      '  - { id: b, title: Task B, prompt: Do b., files: ["lib/b/**"] }',
      '  - { id: c, title: Task C, prompt: Do c., files: ["lib/c/**"], depends_on: [a] }',
    ].join('\n');
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml);
    repo.commitAll('swarm file');

    const env = claudeEnv(server, home);
    const child = swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env }) as unknown as ResultPromise;
    const events: SwarmEvent[] = [];
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as SwarmEvent);
    });
    const until = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-15))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      // a's message to b was passed on by the runner, and a waits at its gate.
      await until('a -> b', () => events.some((e) => e.type === 'message' && e.reason === 'sent' && e.task === 'b' && e.from === 'a'));
      await server.waitFor((r) => taskOf(r) === 'a' && stepOf(r) === 1);
      // A person tells a something while its Bash runs.
      const sent = await swarm(['msg', 'a', 'HUMAN-MSG-1: the API is frozen', '--from', 'alice'], { cwd: repo.dir });
      expect(sent.exitCode, String(sent.stderr)).toBe(0);
      expect(String(sent.stdout)).toContain('sent to task a');
      open('go-a');
      // a tries b's file, is refused, and goes on; then b may go on.
      await server.waitFor((r) => taskOf(r) === 'a' && stepOf(r) === 3);
      open('go-b');
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await child.catch(() => undefined);
      await reapOrphans(child.pid!, { graceMs: 1000 });
    }

    const main = server.mainRequests();
    const of = (task: string, step: number) => main.find((r) => taskOf(r) === task && stepOf(r) === step)!;

    // The person's message: not in a's request before it was sent, in the next one, and only once.
    expect(messagesText(of('a', 1))).not.toContain('HUMAN-MSG-1');
    expect(messagesText(of('a', 2))).toContain('HUMAN-MSG-1: the API is frozen');
    expect(messagesText(of('a', 2))).toContain('from alice (a person)');
    expect(messagesText(of('a', 5)).split('HUMAN-MSG-1').length - 1).toBe(1);

    // Agent a's message reached agent b, from task a, at b's next request after it was sent.
    expect(messagesText(of('b', 1))).toContain('from task a: A-TO-B: keep the export named foo');

    // a's write of b's file was refused, naming b and the command to ask it.
    const refusal = resultText(of('a', 3));
    expect(refusal).toContain('lib/b/from-a.txt');
    expect(refusal).toContain('It belongs to task b, which is running now');
    expect(refusal).toContain('swarm msg b');

    // The preamble told a that b was running, what it owns, and how to message it.
    const preamble = messagesText(of('a', 0));
    expect(preamble).toContain('## Other agents working now');
    expect(preamble).toMatch(/- b: Task B \(files: lib\/b\/\*\*\)/);
    expect(preamble).toContain('swarm msg <task>');

    // a's note is in c's prompt, beside a's result.
    const cPrompt = messagesText(of('c', 0));
    expect(cPrompt).toContain('note from a: NOTE-FOR-C: use the v2 format');
    expect(cPrompt).toContain('result: a done');

    // The work landed: b's own edit, not a's.
    expect(repo.git('show', `swarm/${RUN}:lib/b/b.txt`)).toBe('B1');
    expect(repo.git('show', `swarm/${RUN}:lib/a/a.txt`)).toBe('A');

    // The record: each message delivered once, by the hook; events in the stream and in state.db.
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      const toA = store.messages.involving(RUN, 'a').filter((m) => m.to === 'a');
      expect(toA).toEqual([expect.objectContaining({ sender: 'alice', body: 'HUMAN-MSG-1: the API is frozen', deliveredHow: 'hook' })]);
      const toB = store.messages.involving(RUN, 'b').filter((m) => m.to === 'b');
      expect(toB).toEqual([expect.objectContaining({ fromTask: 'a', deliveredHow: 'hook' })]);
      const delivered = store.events(RUN, { type: 'message', reason: 'delivered' }).map((s) => s.event);
      expect(delivered.map((e) => (e.type === 'message' ? `${e.task}#${e.id}` : '')).sort()).toEqual([`a#${toA[0]!.id}`, `b#${toB[0]!.id}`]);
      expect(store.events(RUN, { type: 'message', reason: 'note' })).toHaveLength(1);
    } finally {
      store.close();
    }
    expect(
      events.filter((e) => e.type === 'message' && e.reason === 'sent').map((e) => (e.type === 'message' && e.reason === 'sent' ? `${e.from}->${e.task}` : '')),
    ).toEqual(expect.arrayContaining(['a->b', 'alice->a']));

    // `swarm logs` shows the message in a's transcript.
    const logs = await swarm(['logs', 'a', '--run', RUN], { cwd: repo.dir });
    expect(String(logs.stdout)).toContain('from alice (a person): HUMAN-MSG-1: the API is frozen');
    repo.cleanup();
  });
});
