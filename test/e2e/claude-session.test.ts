/**
 * A retry whose claude session is gone (another HOME, `~/.claude/projects` deleted), with
 * the REAL claude CLI (node_modules/.bin/claude 2.1.110) through the built swarm CLI,
 * against the scripted model server.
 *
 * What claude does with `--resume <id it cannot find>`, as seen in this test: exit 1, no
 * request to the API, a stream-json result `is_error: true, num_turns: 0` whose `errors`
 * say "No conversation found with session ID: <id>". swarm then starts the same attempt
 * again in a new session, with the whole prompt, without spending a retry.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusJson } from '../../src/cli/commands/status.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo } from '../helpers/git-repo.js';
import { claudeEnv, messagesText, reply, startModelServer, toolUse, type ModelServer, type RecordedRequest, type Turn } from '../helpers/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));

let server: ModelServer;
let home: string;
beforeAll(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'swarm-e2e-session-home-'));
});
afterAll(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const worktreeOf = (req: RecordedRequest): string => {
  const system = req.body?.system;
  const text = Array.isArray(system) ? system.map((b: { text?: unknown }) => (typeof b.text === 'string' ? b.text : '')).join('\n') : String(system ?? '');
  return /Primary working directory: (.+)/.exec(text)?.[1]?.trim() ?? '';
};
const userMessages = (req: RecordedRequest) => (req.body?.messages ?? []).filter((m) => m.role === 'user');
const hasToolResult = (req: RecordedRequest) =>
  (req.body?.messages ?? []).some((m) => typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_result'));

describe('a claude session that cannot be found on a retry', { timeout: 300_000 }, () => {
  it('the attempt starts a new session with the full prompt, spends no retry, and the task merges', async () => {
    const repo = tempRepo({ 'README.md': '# sessions\n' });
    try {
      // Attempt 1 writes first.txt; the check wants second.txt, and deletes every stored session
      // on its way, so attempt 2's `--resume` finds nothing. The new session writes second.txt.
      server.setScript((req): Turn => {
        const wt = worktreeOf(req);
        const text = messagesText(req);
        if (hasToolResult(req)) return reply(text.includes('did not pass the check') ? 'second done' : 'first done');
        const file = text.includes('did not pass the check') ? 'second.txt' : 'first.txt';
        return toolUse('Write', { file_path: join(wt, 'x', file), content: `${file}\n` });
      });
      writeFileSync(
        join(repo.dir, 'swarm.yaml'),
        [
          'version: 1',
          'name: sess',
          'retries: 1',
          'agent:',
          '  kind: claude',
          `  bin: ${JSON.stringify(CLAUDE)}`,
          '  permission_mode: acceptEdits',
          '  allowed_tools: [Read, Write, Edit]',
          'tasks:',
          '  - id: t',
          '    prompt: Write the x files.',
          '    files: ["x/**"]',
          `    check: ${JSON.stringify('rm -rf "$CLAUDE_CONFIG_DIR/projects"; test -f x/second.txt')}`,
          '',
        ].join('\n'),
      );
      repo.commitAll('swarm file');

      const run = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env: claudeEnv(server, home) });
      const evs = String(run.stdout)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SwarmEvent);
      const logs = evs.flatMap((e) => (e.type === 'log' ? [e.message] : []));
      expect(run.exitCode, `${String(run.stderr)}\n${logs.join('\n')}`).toBe(0);
      expect(repo.git('show', 'swarm/sess:x/first.txt')).toBe('first.txt');
      expect(repo.git('show', 'swarm/sess:x/second.txt')).toBe('second.txt');

      // Attempt 2 spawned claude twice: first with --resume of attempt 1's session, then without.
      type AgentOf<R extends string> = Extract<SwarmEvent, { type: 'agent'; reason: R }>;
      const sessions = evs.filter((e): e is AgentOf<'session'> => e.type === 'agent' && e.reason === 'session');
      const spawns = evs.filter((e): e is AgentOf<'spawned'> => e.type === 'agent' && e.reason === 'spawned');
      expect(spawns.map((s) => s.attempt)).toEqual([1, 2, 2]);
      expect(spawns[1]!.argv[spawns[1]!.argv.indexOf('--resume') + 1]).toBe(sessions.find((s) => s.attempt === 1)?.sessionId);
      expect(spawns[2]!.argv).not.toContain('--resume');
      expect(
        logs.some((m) => m.includes('could not be resumed') && m.includes('No conversation found with session ID') && m.includes('no retry spent')),
        logs.join('\n'),
      ).toBe(true);

      // The model got no request from the failed resume; the new session's first request is
      // the whole prompt (the task, its files) with the check's failure, and no old history.
      const main = server.mainRequests();
      expect(main).toHaveLength(4);
      const fresh = main[2]!;
      expect(userMessages(fresh)).toHaveLength(1);
      const prompt = messagesText(fresh);
      expect(prompt).toContain('You are the agent for task "t"');
      expect(prompt).toContain('Write the x files.');
      expect(prompt).toContain('did not pass the check');
      expect(prompt).not.toContain('first done');
      // What swarm wrote down as attempt 2's prompt is that full prompt too.
      expect(readFileSync(join(repo.dir, '.swarm', 'logs', 'sess', 't.2.prompt.md'), 'utf8')).toContain('You are the agent for task "t"');

      // Two attempts, not three: the missing session cost no retry (retries: 1 would have run out).
      const status = JSON.parse(String((await swarm(['status', 'sess', '--json'], { cwd: repo.dir })).stdout)) as StatusJson;
      const t = status.tasks.find((x) => x.id === 't')!;
      expect(t).toMatchObject({ state: 'merged', attempts: 2 });
      expect(t.history.map((h) => h.outcome)).toEqual(['check-failed', 'ok']);
      // The new session is the one kept for a later resume, not the lost one.
      expect(t.sessionId).toBe(sessions.at(-1)?.sessionId);
      expect(t.sessionId).not.toBe(sessions[0]?.sessionId);
    } finally {
      repo.cleanup();
    }
  });
});
