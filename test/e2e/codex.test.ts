/**
 * `swarm run` through the built CLI with `kind: codex` tasks, driving the real codex
 * binary against the scripted Responses API: the work lands, in order, and a dependent's
 * codex works on top of its dependency's merged files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo } from '../helpers/git-repo.js';
import { CODEX_BIN, codexEnv, codexProviderArgs, ResponsesServer } from '../helpers/responses-server.js';

let home: string;
beforeAll(() => {
  // Not under the temp dir: codex refuses to make its sandbox helper there, and with bubblewrap
  // installed its commands then fail ("bwrap: execvp codex-linux-sandbox").
  home = mkdtempSync(join(homedir(), '.swarm-codex-e2e-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('swarm run with the real codex', { timeout: 180_000 }, () => {
  it('runs a task and its dependent: both land, and the dependent read what the first wrote', async () => {
    // One server for both agents: b starts only once a is merged, so the order of requests is known.
    const server = await ResponsesServer.start([
      { kind: 'exec', cmd: 'mkdir -p lib/a && echo A-WAS-HERE > lib/a/a.txt' },
      { kind: 'message', text: 'a done' },
      { kind: 'exec', cmd: 'mkdir -p lib/b && cat lib/a/a.txt > lib/b/b.txt' },
      { kind: 'message', text: 'b done' },
    ]);
    const repo = tempRepo({ 'README.md': '# codex\n' });
    try {
      const args = JSON.stringify(codexProviderArgs(server));
      writeFileSync(
        join(repo.dir, 'swarm.yaml'),
        [
          'version: 1',
          'name: cx',
          'retries: 0',
          'agent:',
          '  kind: codex',
          `  bin: ${JSON.stringify(CODEX_BIN)}`,
          '  model: gpt-test',
          `  args: ${args}`,
          'tasks:',
          '  - id: a',
          '    prompt: Write lib/a/a.txt.',
          '    files: ["lib/a/**"]',
          '  - id: b',
          '    prompt: Copy a into lib/b/b.txt.',
          '    files: ["lib/b/**"]',
          '    depends_on: [a]',
          '',
        ].join('\n'),
      );
      repo.commitAll('swarm file');

      const result = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir, env: codexEnv(home) });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(repo.git('show', 'swarm/cx:lib/a/a.txt')).toBe('A-WAS-HERE');
      expect(repo.git('show', 'swarm/cx:lib/b/b.txt')).toBe('A-WAS-HERE');
      expect(repo.git('log', '--first-parent', '--reverse', '--format=%s', 'swarm/cx').split('\n').slice(-2)).toEqual(['swarm(a): a', 'swarm(b): b']);
      expect(server.requests).toHaveLength(4);
      const store = openStore(join(repo.dir, '.swarm', 'state.db'));
      try {
        // Each task keeps codex's thread id, for `exec resume` on a retry or after a crash.
        for (const t of store.getTasks('cx')) expect(t.sessionId, t.task).toMatch(/^[0-9a-f-]{36}$/);
      } finally {
        store.close();
      }
    } finally {
      repo.cleanup();
      await server.close();
    }
  });
});
