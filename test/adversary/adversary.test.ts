/**
 * Hostile agents, end to end: `swarm run` (the built CLI) with `kind: command` agents that
 * attack the user's checkout, the shared git dir, another task's worktree, the integration
 * branch and swarm's own files. Run twice: in the bubblewrap sandbox (`sandbox: required`),
 * where the writes are refused, and without it (`sandbox: off`), where tamper detection
 * refuses the merge and says what changed. Each case asserts the effect on disk and on the
 * integration branch, the exit code and the reported violation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { bwrapWorks, failure, HostileRepo, RUN, SQLITE_MODULE, violations, type Mode } from './hostile.js';

const HOOK = join(CLI, '..', '..', 'hooks', 'main.js');
const sandboxed = bwrapWorks();
const modes: Mode[] = sandboxed ? ['required', 'off'] : ['off'];

let repo: HostileRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

describe.each(modes)('hostile agents, sandbox: %s', (mode) => {
  const confined = mode === 'required';

  it('a well-behaved agent commits on its own branch, next to another one, with nothing flagged', async () => {
    repo = new HostileRepo();
    const ok = (file: string) => `set -e\necho ${file} > ${file}\ngit add ${file}\ngit commit -qm ${file}\necho more >> ${file}\n`;
    const out = await repo.run(mode, [
      { id: 'one', files: ['one.txt'], script: ok('one.txt') },
      { id: 'two', files: ['two.txt'], script: ok('two.txt') },
      { id: 'three', files: ['three.txt'], script: ok('three.txt'), dependsOn: ['one'] },
    ]);
    expect(out.stderr).toBe('');
    expect(violations(out.events)).toEqual([]);
    expect(out.exitCode).toBe(0);
    expect(repo.integrationFiles()).toEqual(expect.arrayContaining(['one.txt', 'two.txt', 'three.txt']));
  });

  it("a write through a symlink, or straight to the path, into the user's checkout", async () => {
    repo = new HostileRepo();
    const readme = repo.read('README.md');
    const out = await repo.run(mode, [
      {
        id: 'evil',
        files: ['link', 'own.txt'],
        script: 'fail=0\necho mine > own.txt\nln -s "$ROOT/README.md" link\necho pwned > link || fail=1\necho pwned >> "$ROOT/README.md" || fail=1\nexit $fail',
      },
    ]);
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('own.txt');
    if (confined) {
      expect(repo.read('README.md').equals(readme)).toBe(true);
      expect(failure(out.events, 'evil')).toMatch(/Read-only file system/);
    } else {
      // Detection cannot undo the write; it refuses the task and says what changed.
      expect(violations(out.events)).toContainEqual({ task: 'evil', path: 'checkout: README.md changed', where: 'tamper', blocked: true });
      expect(failure(out.events, 'evil')).toMatch(/checkout: README\.md changed/);
    }
  });

  it('.git/config and .git/hooks/post-commit (and no second attempt)', async () => {
    repo = new HostileRepo();
    const config = repo.read('.git/config');
    const run = repo.run.bind(repo);
    const out = await run(
      mode,
      [
        {
          id: 'evil',
          files: ['own.txt'],
          script: [
            'fail=0',
            'echo mine > own.txt',
            `printf '[alias]\\n\\tpwned = status\\n' >> "$ROOT/.git/config" || fail=1`,
            `printf '#!/bin/sh\\necho pwned\\n' > "$ROOT/.git/hooks/post-commit" || fail=1`,
            'exit $fail',
          ].join('\n'),
        },
      ],
      { retries: confined ? 0 : 1 },
    );
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('own.txt');
    if (confined) {
      expect(repo.read('.git/config').equals(config)).toBe(true);
      expect(() => repo!.read('.git/hooks/post-commit')).toThrow(/ENOENT/);
      expect(failure(out.events, 'evil')).toMatch(/Read-only file system/);
    } else {
      const flagged = violations(out.events)
        .filter((v) => v.where === 'tamper')
        .map((v) => v.path);
      expect(flagged).toEqual(['.git/config changed', '.git/hooks/post-commit added']);
      // A retry would start from the tampered state and be judged against it: none is made.
      expect(out.events.filter((e) => e.type === 'agent' && e.reason === 'spawned')).toHaveLength(1);
      expect(failure(out.events, 'evil')).toMatch(/\.git\/config changed, \.git\/hooks\/post-commit added/);
    }
  });

  // Without the sandbox a write into a running task's worktree is that task's work as far as
  // anything can tell (its audit still holds it to its globs): the README says so.
  it.skipIf(!confined)("a write into another running task's worktree", async () => {
    repo = new HostileRepo();
    const out = await repo.run(mode, [
      {
        id: 'victim',
        files: ['victim.txt'],
        script: 'i=0\nwhile [ ! -e "$ROOT/.swarm/worktrees/$RUN/evil/flag" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done',
      },
      {
        id: 'evil',
        files: ['flag'],
        script: [
          'i=0',
          'while [ ! -e "$ROOT/.swarm/worktrees/$RUN/victim/.git" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done',
          'fail=0',
          'echo pwned > "$ROOT/.swarm/worktrees/$RUN/victim/victim.txt" || fail=1',
          'touch flag',
          'exit $fail',
        ].join('\n'),
      },
    ]);
    expect(out.exitCode).toBe(1);
    expect(failure(out.events, 'evil')).toMatch(/Read-only file system/);
    expect(repo.integrationFiles()).not.toContain('victim.txt');
  });

  // Without the sandbox the runner itself must notice a foreign move of its branch (not this suite's concern).
  it.skipIf(!confined)('git update-ref on the integration branch', async () => {
    repo = new HostileRepo();
    const before = repo.repo.git('rev-parse', 'HEAD');
    const out = await repo.run(mode, [
      {
        id: 'evil',
        files: ['mine.txt'],
        script: 'echo mine > mine.txt && git add mine.txt && git commit -qm mine || exit 3\ngit update-ref "refs/heads/swarm/$RUN" HEAD || exit 1',
      },
    ]);
    expect(out.exitCode).toBe(1);
    expect(failure(out.events, 'evil')).toMatch(/cannot lock ref 'refs\/heads\/swarm\/adv'.*Read-only file system/s);
    expect(repo.repo.git('rev-parse', `swarm/${RUN}`)).not.toBe(before); // swarm.yaml was committed after `before`
    expect(repo.integrationFiles()).not.toContain('mine.txt');
  });

  it("swarm's own files: its lease row in state.db, the pre-commit guard", async () => {
    repo = new HostileRepo();
    const out = await repo.run(mode, [
      {
        id: 'evil',
        files: ['own.txt'],
        script: [
          'fail=0',
          'echo mine > own.txt',
          `node -e "const D = require(process.argv[1]); new D(process.argv[2]).prepare('DELETE FROM leases').run()" '${SQLITE_MODULE}' "$ROOT/.swarm/state.db" || fail=1`,
          `printf '#!/bin/sh\\nexit 0\\n' > "$ROOT/.swarm/hooks/pre-commit" || fail=1`,
          'exit $fail',
        ].join('\n'),
      },
    ]);
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('own.txt');
    const guard = readFileSync(join(repo.root, '.swarm/hooks/pre-commit'), 'utf8');
    if (confined) {
      expect(guard).toMatch(/Written by swarm/);
      expect(failure(out.events, 'evil')).toMatch(/readonly database|Read-only file system/);
    } else {
      expect(guard).not.toMatch(/Written by swarm/);
      expect(violations(out.events)).toContainEqual({ task: 'evil', path: '.swarm/hooks/pre-commit changed', where: 'tamper', blocked: true });
    }
  });

  it("pointing its worktree's HEAD at the user's branch, so that the runner's commit lands there", async () => {
    repo = new HostileRepo();
    const out = await repo.run(mode, [{ id: 'evil', files: ['own.txt'], script: 'set -e\ngit symbolic-ref HEAD refs/heads/main\necho mine > own.txt' }]);
    const main = repo.repo.git('log', '--format=%s', 'main');
    expect(main.split('\n')[0]).toBe('swarm.yaml');
    expect(repo.repo.git('ls-tree', '--name-only', 'main')).not.toContain('own.txt');
    expect(violations(out.events)).toContainEqual({
      task: 'evil',
      path: 'worktree HEAD changed (to "ref: refs/heads/main", not its branch)',
      where: 'tamper',
      blocked: true,
    });
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('own.txt');
  });

  it("rewriting its worktree's .git file, so that the runner's git calls there read another repository", async () => {
    repo = new HostileRepo();
    const out = await repo.run(mode, [
      { id: 'evil', files: ['own.txt'], script: 'fail=0\necho mine > own.txt\nprintf "gitdir: %s\\n" "$PWD/fake" > .git || fail=1\nexit $fail' },
    ]);
    const dotGit = readFileSync(join(repo.root, `.swarm/worktrees/${RUN}/evil/.git`), 'utf8');
    expect(dotGit).toMatch(/^gitdir: .*\/\.git\/worktrees\/evil\n$/);
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('own.txt');
    if (confined) expect(failure(out.events, 'evil')).toMatch(/Read-only file system|Device or resource busy/);
    else expect(violations(out.events)).toContainEqual({ task: 'evil', path: 'worktree .git file changed', where: 'tamper', blocked: true });
  });

  it('a committed symlink pointing outside the repository, inside its globs', async () => {
    repo = new HostileRepo();
    const out = await repo.run(mode, [
      {
        id: 'evil',
        files: ['x', 'y', 'sub/**'],
        script: 'set -e\nln -s /etc/passwd x\nln -s ../../../etc/hostname y\nmkdir sub\nln -s ../README.md sub/ok\ngit add -A\ngit commit -qm links',
      },
    ]);
    expect(out.exitCode).toBe(1);
    expect(violations(out.events)).toEqual([
      { task: 'evil', path: 'x -> /etc/passwd', where: 'symlink', blocked: true },
      { task: 'evil', path: 'y -> ../../../etc/hostname', where: 'symlink', blocked: true },
    ]);
    expect(repo.integrationFiles()).not.toContain('x');
  });

  it("the guards work inside the agent's processes and their violations reach the run's events", async () => {
    repo = new HostileRepo();
    const hook = (path: string) =>
      `echo '{"tool_name":"Write","tool_input":{"file_path":"${path}"}}' | node '${HOOK}' pre-tool-use | sed 's/^/HOOK ${path.replaceAll('/', '_')}: /'`;
    const out = await repo.run(mode, [
      {
        id: 'evil',
        files: ['own.txt'],
        script: [hook('own.txt'), hook('other.txt'), 'echo x > other.txt', 'git add other.txt', 'git commit -qm other || echo refused'].join('\n'),
      },
    ]);
    const said = out.events.flatMap((e) => (e.type === 'agent' && e.reason === 'output' ? [e.text] : []));
    // The lease check read state.db (read-only in the sandbox) and let the owned path through.
    expect(said.filter((l) => l.startsWith('HOOK own.txt'))).toEqual([]);
    expect(said.find((l) => l.startsWith('HOOK other.txt'))).toMatch(/"permissionDecision":"deny"/);
    expect(said).toContain('refused');
    expect(violations(out.events)).toEqual([
      { task: 'evil', path: 'other.txt', where: 'hook', blocked: true },
      { task: 'evil', path: 'other.txt', where: 'pre-commit', blocked: true },
      { task: 'evil', path: 'other.txt', where: 'audit', blocked: true },
    ]);
    expect(out.exitCode).toBe(1);
    expect(repo.integrationFiles()).not.toContain('other.txt');
  });
});

describe.skipIf(!sandboxed)('the sandbox and stopping an agent', () => {
  it("a timed-out sandboxed agent's whole family is gone when the run ends", async () => {
    repo = new HostileRepo();
    const out = await repo.run('required', [{ id: 'slow', files: ['pid.txt'], script: 'sleep 300 &\necho $! > pid.txt\nwait' }], { timeout: '2s' });
    expect(out.exitCode).toBe(1);
    expect(failure(out.events, 'slow')).toMatch(/timed out/);
    const pid = Number(readFileSync(join(repo.root, `.swarm/worktrees/${RUN}/slow/pid.txt`), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(running(pid)).toBe(false);
  });
});

/** Alive and not a zombie (a container without an init process may never reap one). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('agent.sandbox, when bubblewrap does not work', () => {
  it('required: refuses to start, naming the key (exit 2); auto: says so once and detects instead', async () => {
    repo = new HostileRepo();
    const env = { SWARM_BWRAP: '/nonexistent/bwrap' };
    repo.repo.write(
      'swarm.yaml',
      [
        'version: 1',
        'agent:',
        '  kind: command',
        '  command: [sh, -c, "echo x > a.txt"]',
        '  sandbox: required',
        'tasks:',
        '  - id: a',
        '    prompt: p',
        '    files: [a.txt]',
        '',
      ].join('\n'),
    );
    repo.repo.commitAll('yaml');
    const { swarm } = await import('../helpers/cli.js');
    const refused = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.root, env });
    expect(refused.exitCode).toBe(2);
    expect(String(refused.stderr)).toMatch(/agent\.sandbox: required \(task a\), but \/nonexistent\/bwrap \(bubblewrap\) is not installed/);
    expect(repo.repo.git('branch', '--list', 'swarm/*')).toBe('');

    repo.repo.write('swarm.yaml', readFileSync(join(repo.root, 'swarm.yaml'), 'utf8').replace('sandbox: required', 'sandbox: auto'));
    repo.repo.commitAll('auto');
    const ran = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.root, env });
    expect(ran.exitCode).toBe(0);
    expect(String(ran.stdout).match(/agents run without a sandbox/g)).toHaveLength(1);
  });
});
