import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderLogLine } from '../../src/cli/log-render.js';
import type { StatusJson } from '../../src/cli/commands/status.js';
import { AgentRig, RIG_AGENT } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

let rig: AgentRig;
let repo: TempRepo;
beforeEach(async () => {
  rig = await AgentRig.start();
  repo = tempRepo({ 'README.md': '# cli\n' });
});
afterEach(async () => {
  await rig.close();
  repo.cleanup();
});

interface T {
  id: string;
  deps?: string[];
  prompt?: string;
  check?: string;
}

function writeSpec(tasks: T[]): void {
  const lines = [
    'version: 1',
    'name: cli',
    'concurrency: 2',
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: ${JSON.stringify([process.execPath, RIG_AGENT])}`,
    'tasks:',
    ...tasks.flatMap((t) => [
      `  - id: ${t.id}`,
      `    prompt: ${t.prompt ?? `Do ${t.id}.`}`,
      `    files: ["${t.id}/**"]`,
      `    depends_on: ${JSON.stringify(t.deps ?? [])}`,
      ...(t.check ? [`    check: ${JSON.stringify(t.check)}`] : []),
    ]),
  ];
  writeFileSync(join(repo.dir, 'swarm.yaml'), `${lines.join('\n')}\n`);
}

function run(args: string[] = []) {
  return swarm(['run', 'swarm.yaml', '--ui', 'plain', ...args], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath } });
}

/** Answers every agent: write `<task>/<task>.txt` and exit with the code given for it (default 0). */
async function drive(count: number, codes: Record<string, number> = {}): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = await rig.next();
    seen.push(a.hello.task);
    await a.write(`${a.hello.task}/${a.hello.task}.txt`, `${a.hello.task}\n`);
    a.exit(codes[a.hello.task] ?? 0);
  }
  return seen;
}

describe('swarm status, logs and clean through the built CLI', () => {
  it('status shows each task and why it failed, from any folder; logs renders and follows; clean keeps dirty worktrees unless --force', async () => {
    writeSpec([{ id: 'ok', check: 'echo checking ok' }, { id: 'bad' }, { id: 'after', deps: ['bad'] }]);
    const done = run();
    await drive(2, { bad: 3 });
    expect((await done).exitCode).toBe(1);

    const sub = join(repo.dir, 'deep', 'folder');
    mkdirSync(sub, { recursive: true });
    const json = await swarm(['status', '--json'], { cwd: sub });
    expect(json.exitCode).toBe(0);
    const status = JSON.parse(String(json.stdout)) as StatusJson;
    expect(status.run).toMatchObject({ name: 'cli', status: 'failed', into: 'swarm/cli', runner: { alive: false } });
    const byId = new Map(status.tasks.map((t) => [t.id, t]));
    expect(byId.get('ok')).toMatchObject({ state: 'merged', attempts: 1, history: [{ attempt: 1, outcome: 'ok' }] });
    expect(byId.get('bad')).toMatchObject({ state: 'failed', attempts: 1, history: [{ attempt: 1, outcome: 'exit', exitCode: 3 }] });
    expect(byId.get('bad')!.detail).toContain('exited with code 3');
    expect(byId.get('after')).toMatchObject({ state: 'blocked', attempts: 0, dependsOn: ['bad'], detail: 'blocked: dependency bad failed' });
    expect(status.counts).toEqual({ merged: 1, failed: 1, blocked: 1 });
    expect(typeof byId.get('ok')!.durationMs).toBe('number');

    const text = String((await swarm(['status'], { cwd: sub })).stdout);
    expect(text).toContain('run cli: failed');
    expect(text).toMatch(/TASK\s+STATE\s+ATTEMPTS\s+TIME\s+COST\s+TURNS\s+DETAIL/);
    expect(text).toMatch(/bad\s+failed\s+1\s+.*exited with code 3/);
    expect(text).toContain('swarm logs bad');

    const logs = await swarm(['logs', 'ok'], { cwd: sub });
    expect(logs.exitCode).toBe(0);
    expect(String(logs.stdout)).toContain('── ok · attempt 1 of 1 · ok ──');
    expect(String(logs.stdout)).toContain('exiting with 0');
    expect(String(logs.stdout)).toContain('check  │ checking ok');
    const raw = String((await swarm(['logs', 'ok', '--raw'], { cwd: repo.dir })).stdout)
      .trim()
      .split('\n');
    expect(raw.map((l) => JSON.parse(l) as { stream: string }).map((l) => l.stream)).toEqual(['stdout', 'check']);
    const unknown = await swarm(['logs', 'nope'], { cwd: repo.dir });
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toContain('no task "nope" in run cli (tasks: after, bad, ok)');
    const noAttempt = await swarm(['logs', 'bad', '--attempt', '4'], { cwd: repo.dir });
    expect(noAttempt.exitCode).toBe(2);
    expect(String(noAttempt.stderr)).toContain('task bad has run 1 attempt (1..1); no attempt 4');

    // clean: bad's worktree is kept after its failure; with an untracked file it is refused.
    const badWorktree = join(repo.dir, '.swarm', 'worktrees', 'cli', 'bad');
    expect(existsSync(badWorktree)).toBe(true);
    writeFileSync(join(badWorktree, 'bad', 'notes.txt'), 'mine\n');
    const refused = await swarm(['clean'], { cwd: sub });
    expect(refused.exitCode).toBe(1);
    const out = String(refused.stdout);
    expect(out).toContain(`kept ${badWorktree}: holds uncommitted changes (--force discards them)`);
    expect(out).toContain('deleted branch swarm-task/cli/ok (was ');
    expect(out).toContain('the integration branch swarm/cli is kept');
    expect(out).toMatch(/removed worktree .*_merge/);
    expect(existsSync(join(badWorktree, 'bad', 'notes.txt'))).toBe(true);
    expect(repo.git('branch', '--list', 'swarm-task/cli/*')).toContain('swarm-task/cli/bad');

    const forced = await swarm(['clean', 'cli', '--force'], { cwd: repo.dir });
    expect(forced.exitCode).toBe(0);
    expect(String(forced.stdout)).toContain(`removed worktree ${badWorktree}`);
    expect(String(forced.stdout)).toMatch(
      /deleted branch swarm-task\/cli\/bad \(was [0-9a-f]{12}, not merged into swarm\/cli: `git branch swarm-task\/cli\/bad [0-9a-f]{12}` brings it back\)/,
    );
    expect(repo.git('branch', '--list', 'swarm-task/cli/*')).toBe('');
    expect(repo.git('rev-parse', '--verify', '-q', 'swarm/cli')).toMatch(/^[0-9a-f]{40}$/);
    const again = await swarm(['clean'], { cwd: repo.dir });
    expect(String(again.stdout)).toContain('nothing to clean for run cli');
  }, 90_000);

  it('while a run is live: status shows it running, clean refuses, logs --follow ends when the attempt ends', async () => {
    writeSpec([{ id: 'slow' }]);
    const done = run();
    const agent = await rig.next();
    const follow = swarm(['logs', 'slow', '--follow'], { cwd: repo.dir });
    // While the runner lives: status says so, clean refuses.
    const live = JSON.parse(String((await swarm(['status', '--json'], { cwd: repo.dir })).stdout)) as StatusJson;
    expect(live.run).toMatchObject({ status: 'running', runner: { alive: true } });
    expect(live.tasks[0]).toMatchObject({ id: 'slow', state: 'running', attempts: 1 });
    const clean = await swarm(['clean'], { cwd: repo.dir });
    expect(clean.exitCode).toBe(2);
    expect(String(clean.stderr)).toContain('the run "cli" is being worked on by another swarm process (pid ');
    expect(existsSync(agent.hello.worktree)).toBe(true);
    agent.exit(0);
    const followed = await follow;
    expect(followed.exitCode).toBe(0);
    expect(String(followed.stdout)).toContain('exiting with 0');
    expect((await done).exitCode).toBe(0);
  }, 60_000);

  it('re-runs only the changed task and its downstream; --fresh says what it discards and keeps the integration branch', async () => {
    writeSpec([{ id: 'a' }, { id: 'b', deps: ['a'] }, { id: 'c' }]);
    const first = run();
    await drive(3);
    expect((await first).exitCode).toBe(0);
    const head = repo.git('rev-parse', 'swarm/cli');

    writeSpec([{ id: 'a', prompt: 'Do a, but better.' }, { id: 'b', deps: ['a'] }, { id: 'c' }]);
    const second = run();
    expect(await drive(2)).toEqual(['a', 'b']);
    const out = await second;
    expect(out.exitCode).toBe(0);
    expect(String(out.stdout)).toContain('task a changed since it ran: it runs again, with everything downstream of it');
    expect(repo.git('merge-base', '--is-ancestor', head, 'swarm/cli')).toBe('');

    const nothing = await run();
    expect(nothing.exitCode).toBe(0);
    expect(String(nothing.stdout)).toContain('nothing to do: all 3 tasks merged on swarm/cli');

    // --fresh refuses to throw away uncommitted work in a task worktree.
    writeSpec([{ id: 'a' }]);
    const kept = join(repo.dir, '.swarm', 'worktrees', 'cli', 'stray');
    repo.git('worktree', 'add', '-q', '-b', 'swarm-task/cli/stray', kept, 'swarm/cli');
    writeFileSync(join(kept, 'wip.txt'), 'wip\n');
    const refused = await run(['--fresh']);
    expect(refused.exitCode).toBe(2);
    expect(String(refused.stderr)).toContain(`--fresh would discard uncommitted changes in ${kept}`);
    expect(readFileSync(join(kept, 'wip.txt'), 'utf8')).toBe('wip\n');
    await swarm(['clean', '--force'], { cwd: repo.dir });

    const before = repo.git('rev-parse', 'swarm/cli');
    const fresh = run(['--fresh']);
    await drive(1);
    const freshOut = await fresh;
    expect(freshOut.exitCode).toBe(0);
    const err = String(freshOut.stderr);
    expect(err).toContain('--fresh: discarded the saved run cli (tasks: 3 merged)');
    expect(err).toContain(`--fresh: the integration branch swarm/cli is kept as it is (${before.slice(0, 12)})`);
    expect(String(freshOut.stdout)).not.toContain('resuming');
    expect(repo.git('merge-base', '--is-ancestor', before, 'swarm/cli')).toBe('');
  }, 120_000);
});

describe('renderLogLine', () => {
  it('renders a recorded claude stream-json transcript readably', () => {
    const file = fileURLToPath(new URL('../agents/fixtures/claude-bash.jsonl', import.meta.url));
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((l) => renderLogLine(l, '/tmp/exp/repo-WE46Wm'));
    expect(lines[0]).toMatch(/^· session 10d345b8-3ecb-40f5-bfe7-7cd579c58bb1/);
    expect(lines).toContain('→ Bash echo hi > bash.txt');
    expect(lines).toContain('→ Edit bash.txt');
    expect(lines).toContain('  ← (Bash completed with no output)');
    expect(lines).toContain('  ✗ <tool_use_error>File has not been read yet. Read it first before writing to it.</tool_use_error>');
    expect(lines).toContain('done');
    expect(lines.at(-1)).toBe('✓ done ($0.00, 3 turns, 597ms): done');
  });

  it('abbreviates long tool results, marks check and stderr lines, keeps non-JSON lines', () => {
    const result = JSON.stringify({
      type: 'user',
      message: { content: [{ type: 'tool_result', content: 'one\ntwo\nthree\nfour\nfive' }] },
    });
    expect(renderLogLine(result, '/w')).toEqual(['  ← one', '    two', '    three … (2 more lines)']);
    expect(renderLogLine(JSON.stringify({ t: 1, stream: 'check', line: 'FAIL x' }), '/w')).toEqual(['check  │ FAIL x']);
    expect(renderLogLine(JSON.stringify({ t: 1, stream: 'stderr', line: 'oops' }), '/w')).toEqual(['stderr │ oops']);
    expect(renderLogLine('not json', '/w')).toEqual(['not json']);
    const retry = JSON.stringify({
      type: 'system',
      subtype: 'api_retry',
      attempt: 2,
      max_retries: 10,
      retry_delay_ms: 4000,
      error_status: 429,
      error: 'rate_limit',
    });
    expect(renderLogLine(retry, '/w')).toEqual(['⚠ API retry 2/10: rate_limit (429), waiting 4s']);
    const failed = JSON.stringify({ type: 'result', is_error: true, subtype: 'error_max_turns', num_turns: 50, total_cost_usd: 1.5 });
    expect(renderLogLine(failed, '/w')).toEqual(['✗ failed ($1.50, 50 turns): error_max_turns']);
  });
});
