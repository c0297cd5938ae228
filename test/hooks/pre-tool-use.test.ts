import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforcementEnv } from '../../src/hooks/env.js';
import { HOST, openStore } from '../../src/store/index.js';
import { CLI, swarm } from '../helpers/cli.js';
import { SWARM_ARGV, taskRepo, type TaskRepo } from './fixture.js';

/** The built hooks module: in a build, the settings point at the hooks' own entry point. */
const distEnv = (await import(new URL('../../dist/hooks/env.js', import.meta.url).href)) as typeof import('../../src/hooks/env.js');

let t: TaskRepo;
let env: Record<string, string>;
let outside: string;

beforeAll(() => {
  t = taskRepo();
  outside = mkdtempSync(join(tmpdir(), 'swarm-outside-'));
  // Our task's lease was taken an hour ago and expired (a zombie attempt); alice then leased
  // src/a/legacy/**, which takes the stale lease over. The hook must see alice's lease.
  const past = openStore(t.stateDb, { now: () => Date.now() - 3_600_000 });
  const ours = past.acquire({ holder: 'demo/a', run: 'demo', task: 'a', globs: ['src/a/**'], pid: process.pid, host: HOST, ttlMs: 60_000 });
  past.close();
  if (!ours.ok) throw new Error('setup: lease refused');
  const store = openStore(t.stateDb);
  const alice = store.acquire({ holder: 'alice', globs: ['src/a/legacy/**'], pid: 0, host: HOST, ttlMs: 3_600_000, reason: 'hand fix' });
  store.saveRun(
    {
      name: 'demo',
      file: join(t.root, 'swarm.yaml'),
      into: 'swarm/demo',
      baseSha: 'x',
      status: 'running',
      pid: process.pid,
      host: HOST,
      startedAt: 1,
      costUsd: 0,
    },
    [{ task: 'a', hash: 'h', state: 'running' }],
  );
  store.close();
  if (!alice.ok) throw new Error('setup: alice refused');
  mkdirSync(join(t.worktree, 'src', 'a'), { recursive: true });
  symlinkSync(outside, join(t.worktree, 'src', 'a', 'escape'));
  env = enforcementEnv({
    stateDb: t.stateDb,
    run: 'demo',
    task: 'a',
    worktree: t.worktree,
    files: ['src/a/**'],
    leaseId: ours.lease.id,
    enforce: 'block',
    guardHooksDir: join(t.stateDir, 'hooks'),
    origHooksPath: join(t.root, '.git', 'hooks'),
    baseEnv: {},
  });
});

afterAll(() => {
  t.repo.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

/** What Claude Code sends a PreToolUse hook. */
function payload(tool: string, toolInput: Record<string, unknown>, cwd = t.worktree): string {
  return JSON.stringify({
    session_id: '7b1c5f0e-5a63-4a55-9c1d-2f1e8c1b9a10',
    transcript_path: '/home/u/.claude/projects/x/7b1c5f0e.jsonl',
    cwd,
    permission_mode: 'acceptEdits',
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: toolInput,
    tool_use_id: 'toolu_01ABC',
  });
}

/** Runs the hook the way Claude Code does: the settings' command, through a shell. */
async function hook(input: string, extraEnv: Record<string, string> = env, settings = distEnv.claudeSettingsJson(SWARM_ARGV)) {
  const command = (JSON.parse(settings) as { hooks: { PreToolUse: { hooks: { command: string }[] }[] } }).hooks.PreToolUse[0]!.hooks[0]!.command;
  const result = await execa('sh', ['-c', command], { input, env: extraEnv, extendEnv: false, reject: false, cwd: t.worktree });
  return { ...result, decision: decisionOf(result.stdout) };
}

function decisionOf(stdout: string): { permissionDecision: string; permissionDecisionReason: string } | undefined {
  if (stdout.trim() === '') return undefined;
  const out = JSON.parse(stdout) as { hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string } };
  expect(out.hookSpecificOutput.hookEventName).toBe('PreToolUse');
  return out.hookSpecificOutput;
}

describe('swarm hook pre-tool-use', () => {
  it('is wired in the settings JSON on every file-writing tool, to the built hook entry point', () => {
    const settings = JSON.parse(distEnv.claudeSettingsJson(SWARM_ARGV)) as {
      hooks: { PreToolUse: { matcher: string; hooks: { type: string; command: string }[] }[] };
    };
    expect(settings.hooks.PreToolUse).toHaveLength(1);
    expect(settings.hooks.PreToolUse[0]!.matcher).toBe('Write|Edit|MultiEdit|NotebookEdit');
    expect(settings.hooks.PreToolUse[0]!.hooks[0]).toMatchObject({ type: 'command' });
    expect(settings.hooks.PreToolUse[0]!.hooks[0]!.command).toMatch(/dist\/hooks\/main\.js pre-tool-use$/);
  });

  it('allows writes inside the worktree and the globs, absolute or relative to the cwd, silently', async () => {
    const write = await hook(payload('Write', { file_path: join(t.worktree, 'src/a/new.ts'), content: 'x' }));
    expect(write).toMatchObject({ exitCode: 0, stdout: '', decision: undefined });
    const edit = await hook(payload('Edit', { file_path: 'one.ts', old_string: 'one', new_string: 'uno', replace_all: false }, join(t.worktree, 'src/a')));
    expect(edit).toMatchObject({ exitCode: 0, stdout: '' });
    const multi = await hook(payload('MultiEdit', { file_path: join(t.worktree, 'src/a/one.ts'), edits: [{ old_string: 'one', new_string: 'uno' }] }));
    expect(multi.stdout).toBe('');
  });

  it("denies a write outside the worktree (the user's own checkout), saying where to write instead", async () => {
    const r = await hook(payload('Write', { file_path: join(t.root, 'src/a/one.ts'), content: 'x' }));
    expect(r.exitCode).toBe(0);
    expect(r.decision?.permissionDecision).toBe('deny');
    expect(r.decision?.permissionDecisionReason).toContain(`outside this task's worktree ${t.worktree}`);
    expect(r.decision?.permissionDecisionReason).toContain('"src/a/**"');
  });

  it('denies a write through a symlink that leads out of the worktree', async () => {
    const r = await hook(payload('Write', { file_path: join(t.worktree, 'src/a/escape/x.ts'), content: 'x' }));
    expect(r.decision?.permissionDecision).toBe('deny');
    expect(r.decision?.permissionDecisionReason).toContain('outside this task');
  });

  it('denies a write outside the globs, naming the globs it may edit', async () => {
    const r = await hook(payload('Edit', { file_path: join(t.worktree, 'src/b/two.ts'), old_string: 'two', new_string: '2' }));
    expect(r.decision?.permissionDecision).toBe('deny');
    expect(r.decision?.permissionDecisionReason).toContain('src/b/two.ts is not among the files task a owns');
    expect(r.decision?.permissionDecisionReason).toContain('You may edit only "src/a/**"');
    const notebook = await hook(payload('NotebookEdit', { notebook_path: join(t.worktree, 'nb.ipynb'), new_source: 'x', cell_id: 'c1', edit_mode: 'replace' }));
    expect(notebook.decision?.permissionDecisionReason).toContain('nb.ipynb is not among the files');
  });

  it("denies a write under another holder's live lease, naming the holder", async () => {
    const r = await hook(payload('Write', { file_path: join(t.worktree, 'src/a/legacy/old.ts'), content: 'x' }));
    expect(r.decision?.permissionDecision).toBe('deny');
    expect(r.decision?.permissionDecisionReason).toMatch(/src\/a\/legacy\/old\.ts is leased by alice \(hand fix\) since /);
  });

  it('denies on malformed input or a broken environment instead of crashing', async () => {
    const bad = await hook('{"tool_name": "Write", ');
    expect(bad.exitCode).toBe(0);
    expect(bad.decision?.permissionDecision).toBe('deny');
    expect(bad.decision?.permissionDecisionReason).toMatch(/the hook input is not JSON/);
    const noPath = await hook(payload('Write', { content: 'x' }));
    expect(noPath.decision?.permissionDecisionReason).toMatch(/Write was called without a file_path/);
    const brokenEnv = await hook(payload('Write', { file_path: join(t.worktree, 'src/a/x.ts') }), { ...env, SWARM_FILES: 'src/**' });
    expect(brokenEnv.decision?.permissionDecisionReason).toMatch(/SWARM_FILES must be a JSON array/);
    const empty = await hook('');
    expect(empty.decision?.permissionDecision).toBe('deny');
  });

  it('lets other tools through, and everything when not in a swarm task', async () => {
    expect((await hook(payload('Read', { file_path: '/etc/passwd' }))).stdout).toBe('');
    expect((await hook(payload('Write', { file_path: '/etc/x' }), {})).stdout).toBe('');
  });

  it('in warn mode allows the write and records a violation event', async () => {
    const r = await hook(payload('Write', { file_path: join(t.worktree, 'src/b/two.ts'), content: 'x' }), { ...env, SWARM_ENFORCE: 'warn' });
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
    const store = openStore(t.stateDb);
    const events = store.events('demo', { task: 'a' }).map((e) => e.event);
    store.close();
    expect(events).toContainEqual(expect.objectContaining({ type: 'lease', reason: 'violation', path: 'src/b/two.ts', where: 'hook', blocked: false }));
  });

  it('answers the same through `swarm hook pre-tool-use` of the built CLI', async () => {
    const denied = await swarm(['hook', 'pre-tool-use'], { input: payload('Write', { file_path: join(t.worktree, 'README.md') }), env, stdin: undefined });
    expect(denied.exitCode).toBe(0);
    expect(decisionOf(String(denied.stdout))?.permissionDecisionReason).toContain('README.md is not among the files');
    const allowed = await swarm(['hook', 'pre-tool-use'], { input: payload('Write', { file_path: join(t.worktree, 'src/a/z.ts') }), env, stdin: undefined });
    expect(allowed).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('answers fast', async () => {
    const input = payload('Write', { file_path: join(t.worktree, 'src/a/new.ts'), content: 'x' });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await hook(input);
      times.push(performance.now() - start);
    }
    const median = times.sort((a, b) => a - b)[2]!;
    console.log(`pre-tool-use hook: median ${median.toFixed(0)} ms over 5 calls (sh + node + check); CLI at ${CLI}`);
    // Generous: the machine is shared; this catches loading the whole CLI or a stuck read.
    expect(median).toBeLessThan(3000);
  });
});
