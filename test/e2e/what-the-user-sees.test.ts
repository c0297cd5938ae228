import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { arena, events, mergedTasks, type Arena } from '../adversary/run-fixture.js';

let a: Arena | undefined;
afterEach(() => a?.cleanup());

describe('what a user sees', () => {
  it('a failing check in colour: the retry prompt and the events carry its text without escape codes, and checks run without colour', async () => {
    a = arena();
    const seen = join(a.scratch, 'check-env.txt');
    const agent = a.script('agent.sh', 'echo "$SWARM_ATTEMPT" > a.txt');
    // Fails the first time, in colour, as test runners do on a terminal.
    const check = a.script(
      'check.sh',
      `echo "NO_COLOR=$NO_COLOR FORCE_COLOR=$FORCE_COLOR" >> "${seen}"\nif [ "$(cat a.txt)" = 1 ]; then printf '\\033[1m\\033[41m FAIL \\033[0m expected \\033[32m2\\033[39m got 1\\n'; exit 1; fi`,
    );
    a.spec([
      'version: 1',
      'name: colour',
      'retries: 1',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      `check: sh ${check}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
    ]);
    const result = await a.run();
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const prompt = readFileSync(join(a.repo.dir, '.swarm', 'logs', 'colour', 'a.2.prompt.md'), 'utf8');
    expect(prompt).toContain(' FAIL  expected 2 got 1');
    expect(prompt).not.toContain('\u001b');
    const failed = events(result.stdout).find((e) => e.type === 'check' && e.reason === 'failed');
    expect(failed && 'tail' in failed ? failed.tail : '').toContain(' FAIL  expected 2 got 1');
    expect(JSON.stringify(failed)).not.toContain('\\u001b');
    expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe('NO_COLOR=1 FORCE_COLOR=0');
  }, 60_000);

  it('Ctrl-C: the agent swarm stopped is "agent stopped", never "agent failed"', async () => {
    a = arena();
    // In its own worktree: a sandboxed agent can write nowhere else.
    const flag = join(a.repo.dir, '.swarm', 'worktrees', 'stop', 'a', 'started');
    const agent = a.script('agent.sh', 'touch started; sleep 30');
    a.spec([
      'version: 1',
      'name: stop',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
    ]);
    const run = swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: a.repo.dir });
    const { existsSync } = await import('node:fs');
    while (!existsSync(flag)) await new Promise((r) => setTimeout(r, 50));
    (run as unknown as { kill(s: string): void }).kill('SIGINT');
    const result = await run;
    expect(result.exitCode).toBe(130);
    const out = String(result.stdout);
    expect(out).toContain('agent stopped');
    expect(out).not.toContain('agent failed');
    expect(out).toContain('cancelled: stopped by the user');
  }, 60_000);

  it('swarm run of a file outside the repository, from inside it: the repository is where you stand', async () => {
    a = arena();
    const elsewhere = mkdtempSync(join(tmpdir(), 'swarm-elsewhere-'));
    try {
      const agent = a.script('agent.sh', 'cat "$SWARM_PROMPT_FILE" | grep -q "from a prompt file" && echo ok > a.txt');
      writeFileSync(join(elsewhere, 'prompt.md'), 'Work from a prompt file.\n');
      writeFileSync(
        join(elsewhere, 'a.yaml'),
        [
          'version: 1',
          'name: far',
          'agent:',
          '  kind: command',
          `  command: ${JSON.stringify(['sh', agent])}`,
          'tasks:',
          '  - id: a',
          '    prompt_file: prompt.md',
          '    files: ["a.txt"]',
          '',
        ].join('\n'),
      );
      const base = a.repo.git('rev-parse', 'HEAD');
      const result = await swarm(['run', join(elsewhere, 'a.yaml'), '--ui', 'json'], { cwd: join(a.repo.dir, 'src') });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(mergedTasks(a.repo, base, 'swarm/far')).toEqual(['a']);
      expect(a.repo.git('show', 'swarm/far:a.txt')).toBe('ok');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 60_000);

  it('a task that changed nothing: "no changes" by default; with allow_empty: false it fails, told so on its retry', async () => {
    a = arena();
    const agent = a.script('agent.sh', '[ "$SWARM_TASK" = strict ] && [ "$SWARM_ATTEMPT" = 2 ] && echo done > strict.txt; exit 0');
    a.spec([
      'version: 1',
      'name: empty',
      'retries: 1',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: lenient',
      '    prompt: Maybe nothing to do.',
      '    files: ["lenient.txt"]',
      '  - id: strict',
      '    prompt: Must do something.',
      '    files: ["strict.txt"]',
      '    allow_empty: false',
    ]);
    const base = a.repo.git('rev-parse', 'HEAD');
    const result = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: a.repo.dir });
    expect(result.exitCode, String(result.stdout)).toBe(0);
    const out = String(result.stdout);
    expect(out).toMatch(/lenient\s+merged: no changes/);
    expect(out).toMatch(/strict\s+running \(attempt 2\)/);
    expect(out).not.toMatch(/lenient\s+merged as/);
    const retry = readFileSync(join(a.repo.dir, '.swarm', 'logs', 'empty', 'strict.2.prompt.md'), 'utf8');
    expect(retry).toContain('Your previous attempt changed nothing');
    expect(a.repo.git('show', 'swarm/empty:strict.txt')).toBe('done');
    // lenient landed as an empty commit that carries the run record (a fresh clone knows it is done).
    const landed = mergedTasks(a.repo, base, 'swarm/empty');
    expect([...landed].sort()).toEqual(['lenient', 'strict']);
    const lenient = a.repo.git('log', '--first-parent', '--format=%H', '--grep=Swarm-Task: lenient', 'swarm/empty');
    expect(lenient).toMatch(/^[0-9a-f]{40}$/);
    expect(a.repo.git('diff', '--name-only', `${lenient}^`, lenient)).toBe('');
    // Without state.db (a fresh CI clone), the record on the branch says both are done: no agent runs.
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(a.repo.dir, '.swarm', f), { force: true });
    const again = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: a.repo.dir });
    expect(again.exitCode, String(again.stdout)).toBe(0);
    expect(String(again.stdout)).not.toMatch(/(lenient|strict)\s+running/);
  }, 60_000);

  it('the start line says what a run on an existing integration branch starts from', async () => {
    a = arena();
    const agent = a.script('agent.sh', 'echo "$SWARM_TASK" > "$SWARM_TASK.txt"');
    a.spec([
      'version: 1',
      'name: existing',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      '  - id: a',
      '    prompt: Do a.',
      '    files: ["a.txt"]',
    ]);
    const base = a.repo.git('rev-parse', 'HEAD');
    // The integration branch already holds work (an earlier run, or the user's).
    const earlier = a.repo.git('commit-tree', `${base}^{tree}`, '-p', base, '-m', 'earlier work');
    a.repo.git('branch', 'swarm/existing', earlier);
    const result = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: a.repo.dir });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain(
      `into swarm/existing from ${earlier.slice(0, 10)} (swarm/existing as it is, already holding work on top of base ${base.slice(0, 10)})`,
    );
  }, 60_000);

  it('no parked worktree outlives its run: after success, failure or Ctrl-C only _merge and unmerged tasks keep one', async () => {
    a = arena();
    const agent = a.script(
      'agent.sh',
      'echo "$SWARM_TASK" > "$SWARM_TASK.txt"; [ "$SWARM_TASK" = bad ] && exit 1; [ "$SWARM_TASK" = slow ] && sleep 30; exit 0',
    );
    const tasks = ['a', 'b', 'c', 'd', 'bad'].flatMap((id) => [`  - id: ${id}`, `    prompt: Do ${id}.`, `    files: ["${id}.txt"]`]);
    a.spec([
      'version: 1',
      'name: pool',
      'concurrency: 2',
      'retries: 0',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      ...tasks,
    ]);
    const registered = () =>
      a!.repo
        .git('worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree ') && l.includes('/.swarm/worktrees/'))
        .map((l) => l.slice(l.lastIndexOf('/') + 1))
        .sort();
    expect((await a.run()).exitCode).toBe(1);
    expect(registered()).toEqual(['_merge', 'bad']);

    // A stopped run: the running task keeps its worktree (resumable), no parked one stays.
    a.spec([
      'version: 1',
      'name: pool',
      'concurrency: 2',
      'retries: 0',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(['sh', agent])}`,
      'tasks:',
      ...tasks,
      '  - id: slow',
      '    prompt: Do slow.',
      '    files: ["slow.txt"]',
    ]);
    const run = swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: a.repo.dir });
    const { existsSync } = await import('node:fs');
    while (!existsSync(join(a.repo.dir, '.swarm', 'worktrees', 'pool', 'slow', 'slow.txt'))) await new Promise((r) => setTimeout(r, 50));
    (run as unknown as { kill(s: string): void }).kill('SIGINT');
    expect((await run).exitCode).toBe(130);
    expect(registered().filter((n) => n !== 'bad')).toEqual(['_merge', 'slow']);
  }, 90_000);
});
