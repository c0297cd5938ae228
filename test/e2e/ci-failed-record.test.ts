import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { arena, commandSpec, events, readLines, type Arena } from '../adversary/run-fixture.js';
import { swarm } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

// Issue 15's last two gaps: a failed task's record on the remote (refs/swarm/<run>/failed/<task>,
// with its definition hash), and the committed work of an attempt whose runner was killed.

const INTO = 'swarm/ci';
let a: Arena | undefined;
const temps: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  a?.cleanup();
  a = undefined;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** An arena whose repository has a bare `origin` holding main; its agent is `body`. */
function withOrigin(tasks: Parameters<typeof commandSpec>[0]['tasks'], body: string): { ar: Arena; origin: string } {
  const ar = arena();
  a = ar;
  const origin = temp('swarm-origin-');
  git(origin, 'init', '-q', '--bare', '-b', 'main');
  const agent = ar.script('agent.sh', body);
  ar.spec(commandSpec({ name: 'ci', agent, top: ['retries: 0'], agentLines: ['  sandbox: off'], tasks }));
  ar.repo.git('remote', 'add', 'origin', origin);
  ar.repo.git('push', '-q', 'origin', 'main');
  return { ar, origin };
}

function cloneOf(origin: string): string {
  const dir = join(temp('swarm-clone-'), 'repo');
  git(process.cwd(), 'clone', '-q', origin, dir);
  git(dir, 'config', 'user.name', 'swarm test');
  git(dir, 'config', 'user.email', 'test@swarm.invalid');
  return dir;
}

function refsOn(repoDir: string, prefix: string): string[] {
  return git(repoDir, 'for-each-ref', '--format=%(refname)', prefix).split('\n').filter(Boolean);
}

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !test(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('--push: the failed record, and the work of a killed attempt', () => {
  it('a fresh clone starts over a task redefined since its failed attempt, and continues one that was not', async () => {
    const { ar, origin } = withOrigin(
      [
        { id: 'c', lines: ['    check: test -f fix.txt'] },
        { id: 'e', lines: ['    check: test -f fix.txt'] },
      ],
      '',
    );
    const starts = join(ar.scratch, 'starts');
    const saw = join(ar.scratch, 'saw');
    ar.script(
      'agent.sh',
      [
        `echo "$SWARM_TASK" >> ${starts}`,
        // What the agent finds in its worktree: the work of an earlier attempt, or nothing.
        `if [ -f "$SWARM_TASK.txt" ]; then echo "$SWARM_TASK" >> ${saw}; fi`,
        'echo "work of $SWARM_TASK, attempt $SWARM_ATTEMPT" >> "$SWARM_TASK.txt"',
      ].join('\n'),
    );

    const first = await ar.run(['--push']);
    expect(first.exitCode, String(first.stderr)).toBe(1);
    expect(readLines(starts).sort()).toEqual(['c', 'e']);
    expect(refsOn(origin, 'refs/swarm/')).toEqual(['refs/swarm/ci/failed/c', 'refs/swarm/ci/failed/e']);
    // The record: a commit on no branch, on the task branch's tip, with its tree, and the message of the contract.
    const record = git(origin, 'rev-parse', 'refs/swarm/ci/failed/c');
    const tip = git(origin, 'rev-parse', 'refs/heads/swarm-task/ci/c');
    expect(git(origin, 'rev-parse', `${record}^@`)).toBe(tip);
    expect(git(origin, 'rev-parse', `${record}^{tree}`)).toBe(git(origin, 'rev-parse', `${tip}^{tree}`));
    expect(git(origin, 'for-each-ref', '--contains', record, 'refs/heads/')).toBe('');
    const message = git(origin, 'log', '-1', '--format=%B', record);
    expect(message).toMatch(
      /^swarm: task c failed\n\n[^\n]*check `test -f fix\.txt` failed[\s\S]*\n\nSwarm-Run: ci\nSwarm-Task: c\nSwarm-Task-Hash: [0-9a-f]{16}\nSwarm-State: failed$/,
    );
    const oldHash = /Swarm-Task-Hash: (\S+)/.exec(message)![1];

    // On main: the fix both tasks need, and c's prompt rewritten.
    const yaml = join(ar.repo.dir, 'swarm.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('prompt: Do c.', 'prompt: Do c, the other way.'));
    ar.repo.write('fix.txt', 'the fix\n');
    ar.repo.commitAll('fix, and c redefined');
    ar.repo.git('push', '-q', 'origin', 'main');

    const clone = cloneOf(origin);
    const second = await swarm(['run', 'swarm.yaml', '--ui', 'json', '--push'], { cwd: clone });
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(readLines(starts).slice(2).sort()).toEqual(['c', 'e']);
    // c did not find its old work; e did, and continued it.
    expect(readLines(saw)).toEqual(['e']);
    expect(git(origin, 'show', `${INTO}:c.txt`)).toBe('work of c, attempt 1');
    expect(git(origin, 'show', `${INTO}:e.txt`)).toBe('work of e, attempt 1\nwork of e, attempt 1');
    const said = events(second.stdout).flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(said).toContain(
      `task c was redefined since its failed attempt on origin: starting over (its old branch stays here as swarm-replaced/ci/c-${tip.slice(0, 12)})`,
    );
    expect(said.filter((m) => m.includes('redefined'))).toHaveLength(1);
    expect(git(clone, 'rev-parse', `swarm-replaced/ci/c-${tip.slice(0, 12)}`)).toBe(tip);
    // Both merged: their records are gone, on origin and here; the new definition's hash is on the merge.
    expect(refsOn(origin, 'refs/swarm/')).toEqual([]);
    expect(refsOn(clone, 'refs/swarm/')).toEqual([]);
    const landed = git(origin, 'log', '--first-parent', '--format=%(trailers:key=Swarm-Task-Hash,valueonly)', '-1', '--grep=^Swarm-Task: c$', INTO);
    expect(landed).toMatch(/^[0-9a-f]{16}$/);
    expect(landed).not.toBe(oldHash);
  }, 120_000);

  it("a running task's committed work reaches the remote within the interval: a fresh clone continues it after the runner is SIGKILLed", async () => {
    const { ar, origin } = withOrigin(['a'], '');
    const starts = join(ar.scratch, 'starts');
    const committed = join(ar.scratch, 'committed');
    const agentPid = join(ar.scratch, 'agent.pid');
    ar.script(
      'agent.sh',
      [
        `echo "$SWARM_TASK" >> ${starts}`,
        // Done already (the branch was continued): nothing to redo.
        `if [ -f a.txt ]; then echo skipped >> ${starts}; exit 0; fi`,
        'echo "work of a" > a.txt',
        'git add a.txt && git commit -q -m "a: the work"',
        `echo $$ > ${agentPid}`,
        `touch ${committed}`,
        'exec sleep 60',
      ].join('\n'),
    );
    const run = ar.run(['--push'], { SWARM_TEST_PUSH_INTERVAL_MS: '300' });
    await until('the agent to commit', () => existsSync(committed) && readFileSync(agentPid, 'utf8').trim() !== '');
    pids.push(Number(readFileSync(agentPid, 'utf8')));
    const branch = 'refs/heads/swarm-task/ci/a';
    await until('the running task branch on origin', () => refsOn(origin, branch).length === 1);
    process.kill(run.pid!, 'SIGKILL');
    const killed = await run;
    expect(killed.signal).toBe('SIGKILL');
    expect(git(origin, 'show', `${branch}:a.txt`)).toBe('work of a');
    // Not a failure: no record of one.
    expect(refsOn(origin, 'refs/swarm/')).toEqual([]);

    const clone = cloneOf(origin);
    const second = await swarm(['run', 'swarm.yaml', '--ui', 'json', '--push'], { cwd: clone });
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(readLines(starts)).toEqual(['a', 'a', 'skipped']);
    expect(git(origin, 'show', `${INTO}:a.txt`)).toBe('work of a');
    const said = events(second.stdout).flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(said).toContain(`--push: swarm-task/ci/a taken from origin at ${git(origin, 'rev-parse', branch).slice(0, 12)}`);
  }, 120_000);
});
