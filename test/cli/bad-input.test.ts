import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

// Bad input, as the user meets it: through the built CLI, in a real repository.

let repo: TempRepo;
beforeEach(() => {
  repo = tempRepo({ 'README.md': '# bad input\n', 'src/a.ts': 'export const a = 1;\n' });
});
afterEach(() => repo.cleanup());

const out = (r: { stdout?: unknown }): string => String(r.stdout ?? '');
const err = (r: { stderr?: unknown }): string => String(r.stderr ?? '');
/** A stack trace's frames, which no message a user can cause should carry. */
const STACK = /^\s+at /m;

const ID_RULE = `lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters, with no ".." and not ending in "." or ".lock" (git refuses those in branch names)`;

/** A file with one task, `extra` lines at the top and the task's keys replaced by `task`. */
function yaml(top: string[], task: string[] = ['  - id: a', '    prompt: x', '    files: [a]']): string {
  return `${['version: 1', ...top, 'tasks:', ...task].join('\n')}\n`;
}

/** The `file:line:col error: message` lines of swarm's diagnostics. */
function diagnostics(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^swarm\.yaml:\d+:\d+ error: /.test(l));
}

describe('swarm validate refuses what run would refuse or choke on, at file:line:col', () => {
  const cases: { name: string; text: string; expected: string[] }[] = [
    {
      name: 'task id a..b',
      text: yaml(['name: t'], ['  - id: a..b', '    prompt: x', '    files: [a]']),
      expected: [`swarm.yaml:4:9 error: task "a..b" id: expected a task id: ${ID_RULE}`],
    },
    {
      name: 'task id x.lock',
      text: yaml(['name: t'], ['  - id: x.lock', '    prompt: x', '    files: [a]']),
      expected: [`swarm.yaml:4:9 error: task "x.lock" id: expected a task id: ${ID_RULE}`],
    },
    {
      name: 'task id a.',
      text: yaml(['name: t'], ['  - id: a.', '    prompt: x', '    files: [a]']),
      expected: [`swarm.yaml:4:9 error: task "a." id: expected a task id: ${ID_RULE}`],
    },
    { name: 'run name a..b', text: yaml(['name: a..b']), expected: [`swarm.yaml:2:7 error: name: expected a run name: ${ID_RULE}`] },
    {
      name: 'into: HEAD',
      text: yaml(['name: t', 'into: HEAD']),
      expected: ['swarm.yaml:3:7 error: into: "HEAD" is a name git resolves before any branch (like HEAD or FETCH_HEAD); choose another name'],
    },
    {
      name: 'into: swarm-task/x',
      text: yaml(['name: t', 'into: swarm-task/x']),
      expected: ['swarm.yaml:3:7 error: into: "swarm-task/x" is inside swarm-task/, where swarm keeps task branches; choose another name'],
    },
    {
      name: 'worktrees: .git/wt',
      text: yaml(['name: t', 'worktrees: .git/wt']),
      expected: ['swarm.yaml:3:12 error: worktrees: ".git/wt" is inside .git/; Claude Code refuses to edit files there, choose another folder'],
    },
    {
      name: 'worktrees: ../wt',
      text: yaml(['name: t', 'worktrees: ../wt']),
      expected: ['swarm.yaml:3:12 error: worktrees: "../wt" is outside the repository; task worktrees must live inside it (relative to its root)'],
    },
    {
      name: 'worktrees: src (a tracked folder)',
      text: yaml(['name: t', 'worktrees: src']),
      expected: [
        'swarm.yaml:3:12 error: worktrees: "src" holds files tracked by git (src/a.ts); swarm lists its worktrees folder in .git/info/exclude, which would hide your new files there from git status; choose a folder of its own, such as .swarm/worktrees',
      ],
    },
    {
      name: 'lease.ttl: 1ms',
      text: yaml(['name: t', 'lease: { ttl: 1ms }']),
      expected: ['swarm.yaml:3:15 error: lease.ttl: expected at least 5s (the runner renews its leases every third of the ttl), got "1ms"'],
    },
    {
      name: 'prompt_file: /dev/zero',
      text: yaml(['name: t'], ['  - id: a', '    prompt_file: /dev/zero', '    files: [a]']),
      expected: ['swarm.yaml:5:18 error: task "a" prompt_file: "/dev/zero" is a device, not a regular file (/dev/zero)'],
    },
  ];

  it.each(cases)('$name', async ({ text, expected }) => {
    writeFileSync(join(repo.dir, 'swarm.yaml'), text);
    const r = await swarm(['validate', 'swarm.yaml'], { cwd: repo.dir, timeout: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(diagnostics(err(r))).toEqual(expected);
    expect(r.exitCode).toBe(2);
    expect(err(r)).not.toMatch(STACK);
  });

  it('a FIFO prompt_file is refused at once, without opening it (which would block)', async () => {
    execFileSync('mkfifo', [join(repo.dir, 'prompt.md')]);
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml(['name: t'], ['  - id: a', '    prompt_file: prompt.md', '    files: [a]']));
    const started = Date.now();
    for (const command of ['validate', 'run']) {
      const r = await swarm([command, 'swarm.yaml'], { cwd: repo.dir, timeout: 20_000 });
      expect(r.timedOut).toBe(false);
      expect(diagnostics(err(r))).toEqual([
        `swarm.yaml:5:18 error: task "a" prompt_file: "prompt.md" is a named pipe (FIFO), not a regular file (${join(repo.dir, 'prompt.md')})`,
      ]);
      expect(r.exitCode).toBe(2);
    }
    // Two node start-ups; a reader stuck on the pipe would have waited for the 20 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('run refuses a tracked worktrees folder too, before writing anything', async () => {
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml(['name: t', 'worktrees: src']));
    const exclude = join(repo.dir, '.git', 'info', 'exclude');
    const before = readFileSync(exclude, 'utf8');
    const r = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(diagnostics(err(r))).toEqual([expect.stringContaining('swarm.yaml:3:12 error: worktrees: "src" holds files tracked by git (src/a.ts)')]);
    expect(readFileSync(exclude, 'utf8')).toBe(before);
    expect(existsSync(join(repo.dir, '.swarm'))).toBe(false);
  });
});

describe('flags have the limits of the file', () => {
  it('--concurrency 999 is refused by run and plan, naming the flag and the limit', async () => {
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml(['name: t']));
    for (const command of ['run', 'plan']) {
      const r = await swarm([command, 'swarm.yaml', '--concurrency', '999'], { cwd: repo.dir });
      expect(r.exitCode).toBe(2);
      expect(err(r)).toBe(`swarm ${command}: --concurrency: expected at most 256, got 999`);
    }
    expect(existsSync(join(repo.dir, '.swarm'))).toBe(false);
  });

  it("swarm lease acquire refuses '/etc/**' and '../**' naming --files, and leases nothing", async () => {
    for (const [glob, why] of [
      ['/etc/**', 'is an absolute path; globs are relative to the repository root'],
      ['../**', 'has a ".." segment; globs must stay inside the repository'],
    ] as const) {
      const r = await swarm(['lease', 'acquire', '--holder', 'alice', '--files', 'src/**', glob], { cwd: repo.dir });
      expect(err(r)).toBe(`swarm lease: --files: ${JSON.stringify(glob)} ${why}`);
      expect(r.exitCode).toBe(2);
    }
    const list = await swarm(['leases', '--json'], { cwd: repo.dir });
    expect(JSON.parse(out(list))).toEqual([]);
  });

  it('swarm lease acquire --ttl 1ms is refused naming the flag, like lease.ttl', async () => {
    const r = await swarm(['lease', 'acquire', '--holder', 'alice', '--files', 'src/**', '--ttl', '1ms'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(err(r)).toContain(`option '--ttl <duration>' argument '1ms' is invalid. expected at least 5s, not "1ms"`);
  });
});

describe('a broken .swarm/state.db', () => {
  const db = (): string => join(repo.dir, '.swarm', 'state.db');
  const expectBrokenMessage = (stderr: string, reason: string): void => {
    expect(stderr).toContain(`the state database ${db()} cannot be used: ${reason}`);
    expect(stderr).toContain('Nothing in git is lost: your branches, the integration branches and every task commit are intact.');
    expect(stderr).toContain(`  mv ${db()} ${db()}.broken\n`);
    expect(stderr).toContain('merged work stays on the integration branch');
    expect(stderr).not.toMatch(STACK);
    expect(stderr).not.toContain('SqliteError');
  };

  it('garbage bytes: every command that opens it exits 2 with one message, and leaves the file as it was', async () => {
    mkdirSync(join(repo.dir, '.swarm'));
    const garbage = Buffer.from('this is not an SQLite database; '.repeat(200));
    writeFileSync(db(), garbage);
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml(['name: t', 'agent: { kind: command, command: ["true"] }']));
    const commands = [
      ['status'],
      ['run', 'swarm.yaml', '--ui', 'plain'],
      ['leases'],
      ['logs', 'a'],
      ['clean', 't'],
      ['report'],
      ['lease', 'acquire', '--holder', 'x', '--files', 'a'],
    ];
    for (const args of commands) {
      const r = await swarm(args, { cwd: repo.dir });
      expect({ args, code: r.exitCode }).toEqual({ args, code: 2 });
      expectBrokenMessage(err(r), 'file is not a database (SQLITE_NOTADB)');
    }
    expect(readFileSync(db())).toEqual(garbage);
    // Nothing was started: no integration branch, no worktree.
    expect(repo.git('branch', '--list', 'swarm/*')).toBe('');

    // Done as the message says, swarm starts a fresh record.
    execFileSync('sh', ['-c', `mv ${db()} ${db()}.broken`]);
    const after = await swarm(['leases'], { cwd: repo.dir });
    expect(after.exitCode).toBe(0);
    expect(out(after)).toBe('No live leases.');
  });

  it('the edit guard fails closed: an agent edit is denied with the message, not waved through', async () => {
    mkdirSync(join(repo.dir, '.swarm'));
    writeFileSync(db(), 'garbage');
    const r = await swarm(['hook', 'pre-tool-use'], {
      cwd: repo.dir,
      input: JSON.stringify({ tool_name: 'Write', tool_input: { file_path: join(repo.dir, 'src', 'a.ts') } }),
      stdin: undefined,
      env: { SWARM_ENFORCE: 'block', SWARM_FILES: '["src/**"]', SWARM_WORKTREE: repo.dir, SWARM_RUN: 't', SWARM_TASK: 'a', SWARM_STATE_DB: db() },
    });
    expect(r.exitCode).toBe(0);
    const decision = JSON.parse(out(r)) as { hookSpecificOutput: { permissionDecision: string; permissionDecisionReason: string } };
    expect(decision.hookSpecificOutput.permissionDecision).toBe('deny');
    expectBrokenMessage(decision.hookSpecificOutput.permissionDecisionReason, 'file is not a database (SQLITE_NOTADB)');
  });

  it('a folder, a cut-short file and a newer schema each get the message with their reason', async () => {
    mkdirSync(db(), { recursive: true });
    let r = await swarm(['status'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expectBrokenMessage(err(r), 'it is a folder, not a database file');
    rmSync(db(), { recursive: true });

    // A real database, then cut to its first page: SQLite sees the header promise more.
    const made = await swarm(['lease', 'acquire', '--holder', 'x', '--files', 'a', '--reason', 'r'.repeat(20_000)], { cwd: repo.dir });
    expect(made.exitCode).toBe(0);
    const whole = readFileSync(db());
    writeFileSync(db(), whole.subarray(0, 4096));
    r = await swarm(['leases'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expectBrokenMessage(err(r), 'database disk image is malformed (SQLITE_CORRUPT)');

    // user_version is bytes 60..63 of the header: a schema from a later swarm.
    const newer = Buffer.from(whole);
    newer.writeUInt32BE(99, 60);
    writeFileSync(db(), newer);
    r = await swarm(['status'], { cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expectBrokenMessage(err(r), 'it was written by a newer swarm (schema version 99; this swarm knows up to ');
  });
});

describe('an internal error', () => {
  it('prints one line naming a log file in .swarm/logs, and the file holds the stack', async () => {
    mkdirSync(join(repo.dir, '.swarm'));
    const r = await swarm(['status'], { cwd: repo.dir, env: { SWARM_TEST_INTERNAL_ERROR: '1' } });
    expect(r.exitCode).toBe(1);
    const lines = err(r).split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const log = /the details are in (\S+\.log);/.exec(lines[0]!)?.[1];
    expect(lines[0]).toMatch(
      /^swarm: internal error: a deliberate internal error \(SWARM_TEST_INTERNAL_ERROR=1\) \(the details are in .*; please report it\)$/,
    );
    expect(log).toMatch(new RegExp(`^${join(repo.dir, '.swarm', 'logs', 'internal-')}.*\\.log$`));
    const text = readFileSync(log!, 'utf8');
    expect(text).toContain('Error: a deliberate internal error');
    expect(text).toMatch(STACK);
    expect(text).toContain('argv: ["status"]');
  });

  it('outside a repository, the log goes to the temp dir', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'swarm-internal-'));
    try {
      const r = await swarm(['status'], { cwd: tmp, env: { SWARM_TEST_INTERNAL_ERROR: '1', TMPDIR: tmp } });
      expect(r.exitCode).toBe(1);
      expect(err(r)).not.toMatch(STACK);
      const logs = readdirSync(tmp).filter((f) => f.startsWith('internal-'));
      expect(logs).toHaveLength(1);
      expect(err(r)).toContain(join(tmp, logs[0]!));
      expect(readFileSync(join(tmp, logs[0]!), 'utf8')).toMatch(STACK);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('a /src/ line an older swarm left in .git/info/exclude', () => {
  it("swarm clean takes it out (only swarm's own line), so new files under src/ show again", async () => {
    const exclude = join(repo.dir, '.git', 'info', 'exclude');
    const user = '# mine\n/src/generated/\n';
    writeFileSync(exclude, `${user}# swarm: run state and task worktrees\n/.swarm/\n/src/\n`);
    repo.write('src/new.ts', 'new\n');
    expect(repo.git('status', '--porcelain', '--untracked-files=all')).toBe('');

    const r = await swarm(['clean', 't'], { cwd: repo.dir });
    expect(r.exitCode).toBe(0);
    expect(err(r)).toContain(`swarm: removed /src/ from ${exclude}`);
    expect(readFileSync(exclude, 'utf8')).toBe(`${user}# swarm: run state and task worktrees\n/.swarm/\n`);
    expect(repo.git('status', '--porcelain', '--untracked-files=all')).toBe('?? src/new.ts');
  });

  it('swarm run takes it out too, before its own lines go in', async () => {
    const exclude = join(repo.dir, '.git', 'info', 'exclude');
    writeFileSync(exclude, '# swarm: run state and task worktrees\n/.swarm/\n/src/\n');
    repo.write('src/new.ts', 'new\n');
    writeFileSync(join(repo.dir, 'swarm.yaml'), yaml(['name: t', 'agent: { kind: command, command: ["true"] }']));
    const r = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir });
    expect(err(r)).toContain(`swarm: removed /src/ from ${exclude}`);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(exclude, 'utf8')).toBe('# swarm: run state and task worktrees\n/.swarm/\n');
    expect(repo.git('status', '--porcelain', '--untracked-files=all', '--', 'src')).toBe('?? src/new.ts');
  });
});
