/**
 * What an agent finds on its branch, through the built CLI with `command` agents (small
 * node scripts) in real git repositories: an agent starting on a branch that already
 * holds commits is told which (subject and files); a failed task whose definition changed
 * starts over on a fresh branch, and its old branch is renamed, not lost.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusJson } from '../../src/cli/commands/status.js';
import type { SwarmEvent } from '../../src/engine/events.js';
import { openStore } from '../../src/store/index.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let scripts: string;
let repo: TempRepo;
beforeEach(() => {
  scripts = mkdtempSync(join(tmpdir(), 'swarm-branch-history-'));
  repo = tempRepo({ 'README.md': '# history\n' });
});
afterEach(() => {
  repo.cleanup();
  rmSync(scripts, { recursive: true, force: true });
});

/** Writes an agent script outside the repository; returns the `agent.command` for it. */
function agentScript(name: string, body: string): string[] {
  const file = join(scripts, name);
  writeFileSync(file, body);
  return [process.execPath, file, '{prompt_file}'];
}

function writeYaml(name: string, command: string[], task: { prompt: string; retries?: number }): void {
  writeFileSync(
    join(repo.dir, 'swarm.yaml'),
    [
      'version: 1',
      `name: ${name}`,
      `retries: ${task.retries ?? 0}`,
      'agent:',
      '  kind: command',
      // The agent reports what it saw to a file outside its worktree, which the sandbox forbids.
      '  sandbox: off',
      `  command: ${JSON.stringify(command)}`,
      'tasks:',
      '  - id: t',
      '    title: Task T',
      `    prompt: ${JSON.stringify(task.prompt)}`,
      '    files: ["lib/t/**"]',
      '',
    ].join('\n'),
  );
  repo.commitAll(`swarm file: ${task.prompt}`);
}

const run = async () => {
  const res = await swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir });
  const evs = String(res.stdout)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SwarmEvent);
  return { res, evs, logs: evs.flatMap((e) => (e.type === 'log' ? [e.message] : [])) };
};

const status = async (name: string) => JSON.parse(String((await swarm(['status', name, '--json'], { cwd: repo.dir })).stdout)) as StatusJson;

describe('the commits on a task branch', { timeout: 120_000 }, () => {
  it('a retry on a branch holding commits gets their subjects and files in its prompt', async () => {
    // Attempt 1 commits one file itself, leaves another for swarm to commit, and fails; attempt 2 succeeds.
    const command = agentScript(
      'agent.mjs',
      `import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('lib/t', { recursive: true });
if (process.env.SWARM_ATTEMPT === '1') {
  writeFileSync('lib/t/one.txt', 'one\\n');
  execFileSync('git', ['add', 'lib/t/one.txt']);
  execFileSync('git', ['commit', '-q', '-m', 'add one']);
  writeFileSync('lib/t/two.txt', 'two\\n');
  process.exit(1);
}
writeFileSync('lib/t/three.txt', 'three\\n');
`,
    );
    writeYaml('held', command, { prompt: 'Write the t files.', retries: 1 });

    const { res, logs } = await run();
    expect(res.exitCode, `${String(res.stderr)}\n${logs.join('\n')}`).toBe(0);

    const prompt = (n: number) => readFileSync(join(repo.dir, '.swarm', 'logs', 'held', `t.${n}.prompt.md`), 'utf8');
    expect(prompt(1)).not.toContain('already holds work');
    const second = prompt(2);
    expect(second).toContain('## Your branch already holds work');
    expect(second).toContain('already has 2 commits of this task');
    const listed = second.split('\n').filter((l) => /^ {2}- [0-9a-f]{10} /.test(l));
    expect(listed.map((l) => l.replace(/^ {2}- [0-9a-f]{10} /, ''))).toEqual(['add one (files: lib/t/one.txt)', 'swarm(t): Task T (files: lib/t/two.txt)']);
    // The shas listed are the branch's own commits.
    const own = repo.git('log', '--reverse', '--format=%H', 'main..swarm/held', '--no-merges').split('\n');
    expect(listed.map((l) => l.slice(4, 14))).toEqual(own.slice(0, 2).map((sha) => sha.slice(0, 10)));
    expect(repo.git('show', 'swarm/held:lib/t/three.txt')).toBe('three');
  });

  it('a failed task whose prompt changed starts over from the integration head; the old branch is renamed and printed with git branch', async () => {
    // v1 writes v1.txt and fails; v2 records whether it can see v1.txt, writes v2.txt and succeeds.
    const seen = join(scripts, 'seen.json');
    const command = agentScript(
      'agent.mjs',
      `import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const prompt = readFileSync(process.argv[2], 'utf8');
mkdirSync('lib/t', { recursive: true });
if (prompt.includes('version one')) {
  writeFileSync('lib/t/v1.txt', 'v1\\n');
  process.exit(1);
}
writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ v1: existsSync('lib/t/v1.txt'), held: prompt.includes('already holds work') }));
writeFileSync('lib/t/v2.txt', 'v2\\n');
`,
    );
    writeYaml('cr', command, { prompt: 'Do version one.' });
    const first = await run();
    expect(first.res.exitCode, String(first.res.stderr)).toBe(1);
    const oldSha = repo.git('rev-parse', 'refs/heads/swarm-task/cr/t');
    expect(repo.git('show', `${oldSha}:lib/t/v1.txt`)).toBe('v1');

    writeYaml('cr', command, { prompt: 'Do version two.' });
    const head = repo.git('rev-parse', 'swarm/cr');
    const second = await run();
    expect(second.res.exitCode, `${String(second.res.stderr)}\n${second.logs.join('\n')}`).toBe(0);

    // The new attempt worked on a fresh branch: nothing of v1 in its worktree, nor in what merged.
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({ v1: false, held: false });
    const t = (await status('cr')).tasks.find((x) => x.id === 't')!;
    expect(t).toMatchObject({ state: 'merged' });
    const store = openStore(join(repo.dir, '.swarm', 'state.db'));
    try {
      // Its start commit is the integration head when it started, not the old branch's fork
      // point: the merge of main (the base, which the new file moved) on top of `head`.
      expect(repo.git('rev-parse', 'swarm/cr^1^1')).toBe(head);
      expect(repo.git('log', '-1', '--format=%s', 'swarm/cr^1')).toMatch(/^swarm: merge base HEAD /);
      expect(store.getTasks('cr').find((r) => r.task === 't')?.startSha).toBe(repo.git('rev-parse', 'swarm/cr^1'));
    } finally {
      store.close();
    }
    expect(repo.git('show', 'swarm/cr:lib/t/v2.txt')).toBe('v2');
    expect(repo.git('ls-tree', '-r', '--name-only', 'swarm/cr')).not.toContain('lib/t/v1.txt');
    expect(() => repo.git('merge-base', '--is-ancestor', oldSha, 'swarm/cr')).toThrow();

    // The old work is kept on a branch of its own, and the log says so with a git branch command.
    const kept = `swarm-replaced/cr/t-${oldSha.slice(0, 12)}`;
    expect(
      second.logs.filter((m) => m.includes(`git branch ${kept} ${oldSha}`)),
      second.logs.join('\n'),
    ).toHaveLength(1);
    expect(repo.git('rev-parse', `refs/heads/${kept}`)).toBe(oldSha);
    expect(existsSync(join(repo.dir, '.swarm', 'worktrees', 'cr', 't', 'lib', 't', 'v1.txt'))).toBe(false);
  });
});
