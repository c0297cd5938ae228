import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { brief, lines, OK_TASK } from './helpers.js';

// Prompt files live next to the yaml; a temp folder holds the ones these cases need.
const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
writeFileSync(join(dir, 'empty.md'), '  \n');
writeFileSync(join(dir, 'big.md'), 'x'.repeat(1024 * 1024 + 1));
mkdirSync(join(dir, 'prompts'));
// A FIFO: a reader that opened it would wait for a writer that never comes.
execFileSync('mkfifo', [join(dir, 'pipe.md')]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const F = join(dir, 'swarm.yaml');

const HEAD = ['version: 1', 'name: t'];

interface Case {
  readonly name: string;
  readonly text: string;
  /** Every diagnostic, in order, as `file:line:col message` (the file is swarm.yaml). */
  readonly expected: readonly string[];
}

const ID_RULE = `lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters, with no ".." and not ending in "." or ".lock" (git refuses those in branch names)`;

const cases: Case[] = [
  {
    name: 'YAML syntax: unclosed flow sequence',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    files: [a/**', '    prompt: x'),
    expected: ['F:6:5 invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    name: 'YAML syntax: tab indentation',
    text: lines(...HEAD, 'tasks:', '\t- id: a'),
    expected: ['F:4:1 invalid YAML: tabs are not allowed as indentation'],
  },
  {
    name: 'YAML: duplicate key',
    text: lines(...HEAD, 'name: u', 'tasks:', ...OK_TASK),
    expected: ['F:3:1 invalid YAML: this key appears twice in the same mapping'],
  },
  {
    name: 'YAML: two documents',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '---', 'version: 1'),
    expected: ['F:7:1 invalid YAML: a swarm file holds one YAML document; remove the "---" and what follows, or merge it into the first'],
  },
  {
    name: 'YAML: alias to an unknown anchor',
    text: lines(...HEAD, 'agent: *shared', 'tasks:', ...OK_TASK),
    expected: ['F:3:8 invalid YAML: alias *shared names no anchor defined before it'],
  },
  {
    name: 'empty file',
    text: '# nothing yet\n',
    expected: ['F:1:1 the file is empty: expected at least "version: 1" and "tasks:"'],
  },
  {
    name: 'a list instead of a mapping',
    text: lines('- id: a'),
    expected: ['F:1:1 expected a mapping, got a list'],
  },
  {
    name: 'missing version',
    text: lines('name: t', 'tasks:', ...OK_TASK),
    expected: ['F:1:1 missing required key "version" (add "version: 1")'],
  },
  {
    name: 'wrong version',
    text: lines('version: 2', 'tasks:', ...OK_TASK),
    expected: ['F:1:10 version: expected version: 1'],
  },
  {
    name: 'unknown top-level key with a suggestion',
    text: lines(...HEAD, 'concurency: 3', 'tasks:', ...OK_TASK),
    expected: ['F:3:1 unknown key "concurency" (did you mean "concurrency"?)'],
  },
  {
    name: 'unknown task key: dependson',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '  - id: b', '    prompt: x', '    files: [b]', '    dependson: [ok]'),
    expected: ['F:10:5 unknown key "dependson" in task "b" (did you mean "depends_on"?)'],
  },
  {
    name: 'agent key written on the task',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    model: opus'),
    expected: [`F:7:5 unknown key "model" in task "ok" (it belongs under the task's agent:)`],
  },
  {
    name: 'unknown key with no near match',
    text: lines(...HEAD, 'lease:', '  colour: red', 'tasks:', ...OK_TASK),
    expected: ['F:4:3 unknown key "colour" in lease'],
  },
  {
    name: 'wrong type: concurrency as text',
    text: lines(...HEAD, 'concurrency: four', 'tasks:', ...OK_TASK),
    expected: ['F:3:14 concurrency: expected a number, got "four"'],
  },
  {
    name: 'out of range: concurrency 0',
    text: lines(...HEAD, 'concurrency: 0', 'tasks:', ...OK_TASK),
    expected: ['F:3:14 concurrency: expected a number >= 1, got 0'],
  },
  {
    name: 'wrong type: files as a string',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files: src/**'),
    expected: ['F:6:12 task "a" files: expected a list, got "src/**"'],
  },
  {
    name: 'enum with a near miss',
    text: lines(...HEAD, 'merge:', '  strategy: sqash', 'tasks:', ...OK_TASK),
    expected: ['F:4:13 merge.strategy: expected one of "merge", "squash", "rebase", got "sqash" (did you mean "squash"?)'],
  },
  {
    name: 'not a whole number',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    agent: { max_turns: 2.5 }'),
    expected: ['F:7:25 task "ok" agent.max_turns: expected a whole number, got 2.5'],
  },
  {
    name: 'bad duration',
    text: lines(...HEAD, 'timeout: 10 minutes', 'tasks:', ...OK_TASK),
    expected: ['F:3:10 timeout: expected a duration such as 90s, 10m, 1h30m, or a number of seconds'],
  },
  {
    name: 'duration of the wrong type',
    text: lines(...HEAD, 'lease:', '  ttl: [10m]', 'tasks:', ...OK_TASK),
    expected: ['F:4:8 lease.ttl: expected a duration such as 90s, 10m, 1h30m, or a number of seconds'],
  },
  {
    name: 'zero timeout',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    timeout: 0s'),
    expected: ['F:7:14 task "ok" timeout: expected a duration greater than zero, got "0s"'],
  },
  {
    name: 'invalid task id',
    text: lines(...HEAD, 'tasks:', '  - id: Auth_Module', '    prompt: x', '    files: [a]'),
    expected: [`F:4:9 task "Auth_Module" id: expected a task id: ${ID_RULE}`],
  },
  {
    name: 'missing task id and files',
    text: lines(...HEAD, 'tasks:', '  - prompt: x'),
    expected: ['F:4:5 missing required key "files" in tasks[0] (the globs of the files this task owns)', 'F:4:5 missing required key "id" in tasks[0]'],
  },
  {
    name: 'duplicate task id points at the second',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '  - id: ok', '    prompt: again', '    files: [b]'),
    expected: ['F:7:9 duplicate task id "ok" (first defined on line 4)'],
  },
  {
    name: 'depends_on an unknown task, with a suggestion',
    text: lines(
      ...HEAD,
      'tasks:',
      '  - id: auth',
      '    prompt: x',
      '    files: [a]',
      '  - id: api',
      '    prompt: y',
      '    files: [b]',
      '    depends_on: [atuh]',
    ),
    expected: ['F:10:18 task "api" depends on unknown task "atuh" (did you mean "auth"?)'],
  },
  {
    name: 'depends_on a near miss of a short id',
    text: lines(...HEAD, 'tasks:', '  - id: ab', '    prompt: x', '    files: [a]', '  - id: b', '    prompt: x', '    files: [b]', '    depends_on: [ba, c]'),
    expected: ['F:10:18 task "b" depends on unknown task "ba" (did you mean "ab"?)', 'F:10:22 task "b" depends on unknown task "c"'],
  },
  {
    name: 'unparseable brace',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '  - id: b', '    prompt: x', '    files: ["src/{a,b"]'),
    expected: ['F:9:13 task "b" files: "src/{a,b" has an unclosed "{" (write "\\{" for the character itself)'],
  },
  {
    name: 'depends_on itself',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    depends_on:', '      - ok'),
    expected: ['F:8:9 task "ok" depends on itself'],
  },
  {
    name: 'depends_on lists a task twice',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '  - id: b', '    prompt: x', '    files: [b]', '    depends_on: [ok, ok]'),
    expected: ['F:10:22 task "b" depends_on: "ok" is listed twice'],
  },
  {
    name: 'missing prompt_file',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: prompts/a.md', '    files: [a]'),
    expected: [`F:5:18 task "a" prompt_file: "prompts/a.md" does not exist (looked for ${join(dir, 'prompts/a.md')})`],
  },
  {
    name: 'prompt_file is a folder',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: prompts', '    files: [a]'),
    expected: [`F:5:18 task "a" prompt_file: "prompts" is a folder, not a file (${join(dir, 'prompts')})`],
  },
  {
    name: 'empty prompt_file',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: empty.md', '    files: [a]'),
    expected: ['F:5:18 task "a" prompt_file: "empty.md" is empty'],
  },
  {
    name: 'both prompt and prompt_file',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    prompt_file: empty.md', '    files: [a]'),
    expected: ['F:6:5 task "a" sets both prompt and prompt_file; keep one', 'F:6:18 task "a" prompt_file: "empty.md" is empty'],
  },
  {
    name: 'neither prompt nor prompt_file',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    files: [a]'),
    expected: ['F:4:5 task "a" has no prompt: set prompt or prompt_file'],
  },
  {
    name: 'tasks written as a mapping',
    text: lines(...HEAD, 'tasks:', '  auth:', '    prompt: x'),
    expected: ['F:4:3 tasks: expected a list, got a mapping (write each task as a list item: "- id: ...")'],
  },
  {
    name: 'a task that is a bare word',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '  - auth'),
    expected: ['F:7:5 tasks[1]: expected a mapping, got "auth"'],
  },
  {
    name: 'a key that is a list',
    text: lines(...HEAD, '? [a, b]', ': 1', 'tasks:', ...OK_TASK),
    expected: ['F:3:3 a key must be a plain word, not a list or a mapping'],
  },
  {
    name: 'kind: command with an empty command',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    agent: { kind: command, command: [] }'),
    expected: ['F:7:38 task "ok" agent.command: expected at least 1 item'],
  },
  {
    name: 'empty tasks',
    text: lines(...HEAD, 'tasks: []'),
    expected: ['F:3:8 tasks: expected at least one task'],
  },
  {
    name: 'tasks with no value',
    text: lines(...HEAD, 'tasks:'),
    expected: ['F:3:7 tasks: expected a list, got nothing'],
  },
  {
    name: 'empty files list',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files: []'),
    expected: ['F:6:12 task "a" files: expected at least one glob: the files this task owns'],
  },
  {
    name: 'unparseable glob',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files: ["src/[ab"]'),
    expected: ['F:6:13 task "a" files: "src/[ab" has an unclosed "[" (write "\\[" for the character itself)'],
  },
  {
    name: 'absolute glob',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files:', '      - /etc/**'),
    expected: ['F:7:9 task "a" files: "/etc/**" is an absolute path; globs are relative to the repository root'],
  },
  {
    name: 'glob leaving the repository',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files: [src/**, "src/../../x"]'),
    expected: ['F:6:21 task "a" files: "src/../../x" has a ".." segment; globs must stay inside the repository'],
  },
  {
    name: 'negated glob',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt: x', '    files: [src/**, "!src/gen/**"]'),
    expected: ['F:6:21 task "a" files: "!src/gen/**" is negated; list the files the task owns instead'],
  },
  {
    name: 'kind: command without command (top level)',
    text: lines(...HEAD, 'agent:', '  kind: command', 'tasks:', ...OK_TASK),
    expected: ['F:4:9 agent kind is "command" but no agent.command is given (tasks without their own: "ok")'],
  },
  {
    name: 'kind: command without command (task)',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    agent:', '      kind: command'),
    expected: ['F:8:13 task "ok" has agent kind "command" but no agent.command to run'],
  },
  {
    name: 'claude-only settings where the agent is codex (top level, and a task inheriting codex)',
    text: lines(...HEAD, 'agent:', '  kind: codex', '  max_turns: 5', 'tasks:', ...OK_TASK, '    agent:', '      allowed_tools: [Read]'),
    expected: [
      "F:5:3 the agent is codex, which does not use max_turns (a claude setting); remove it, or pass codex's own flags in agent.args",
      'F:11:7 task "ok" runs codex, which does not use allowed_tools (a claude setting); remove it, or pass codex\'s own flags in agent.args',
    ],
  },
  {
    name: 'bad env name and value',
    text: lines(...HEAD, 'tasks:', ...OK_TASK, '    env: { "MY VAR": x, DEPTH: { a: 1 } }'),
    expected: [
      'F:7:12 task "ok" env: "MY VAR" is not a valid environment variable name',
      'F:7:32 task "ok" env.DEPTH: expected a string, a number or true or false, got a mapping',
    ],
  },
  {
    name: 'into is not a branch name',
    text: lines(...HEAD, 'into: "swarm/my run"', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "swarm/my run" is not a valid branch name: it contains a space'],
  },
  // Names that become git refs: what the id pattern's characters let through, git refuses.
  {
    name: 'task id with ".." (git refuses it in swarm-task/<run>/<task>)',
    text: lines(...HEAD, 'tasks:', '  - id: a..b', '    prompt: x', '    files: [a]'),
    expected: [`F:4:9 task "a..b" id: expected a task id: ${ID_RULE}`],
  },
  {
    name: 'task id ending in .lock',
    text: lines(...HEAD, 'tasks:', '  - id: x.lock', '    prompt: x', '    files: [a]'),
    expected: [`F:4:9 task "x.lock" id: expected a task id: ${ID_RULE}`],
  },
  {
    name: 'task id ending in "."',
    text: lines(...HEAD, 'tasks:', '  - id: a.', '    prompt: x', '    files: [a]'),
    expected: [`F:4:9 task "a." id: expected a task id: ${ID_RULE}`],
  },
  {
    name: 'run name ending in .lock',
    text: lines('version: 1', 'name: x.lock', 'tasks:', ...OK_TASK),
    expected: [`F:2:7 name: expected a run name: ${ID_RULE}`],
  },
  {
    name: 'into: HEAD',
    text: lines(...HEAD, 'into: HEAD', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "HEAD" is a name git resolves before any branch (like HEAD or FETCH_HEAD); choose another name'],
  },
  {
    name: 'into: FETCH_HEAD',
    text: lines(...HEAD, 'into: FETCH_HEAD', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "FETCH_HEAD" is a name git resolves before any branch (like HEAD or FETCH_HEAD); choose another name'],
  },
  {
    name: 'into: under swarm-task/',
    text: lines(...HEAD, 'into: swarm-task/x', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "swarm-task/x" is inside swarm-task/, where swarm keeps task branches; choose another name'],
  },
  {
    name: 'into: a part ending in .lock',
    text: lines(...HEAD, 'into: feature/x.lock/y', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "feature/x.lock/y" is not a valid branch name: its part "x.lock" ends with ".lock"'],
  },
  {
    name: 'into: a full ref',
    text: lines(...HEAD, 'into: refs/heads/main', 'tasks:', ...OK_TASK),
    expected: ['F:3:7 into: "refs/heads/main" is a full ref; write the branch name alone ("main")'],
  },
  {
    name: 'worktrees inside .git',
    text: lines(...HEAD, 'worktrees: .git/wt', 'tasks:', ...OK_TASK),
    expected: ['F:3:12 worktrees: ".git/wt" is inside .git/; Claude Code refuses to edit files there, choose another folder'],
  },
  {
    name: 'worktrees outside the repository',
    text: lines(...HEAD, 'worktrees: wt/../../elsewhere', 'tasks:', ...OK_TASK),
    expected: ['F:3:12 worktrees: "wt/../../elsewhere" is outside the repository; task worktrees must live inside it (relative to its root)'],
  },
  {
    name: 'worktrees as an absolute path',
    text: lines(...HEAD, 'worktrees: /tmp/wt', 'tasks:', ...OK_TASK),
    expected: ['F:3:12 worktrees: "/tmp/wt" is an absolute path; write a folder relative to the repository root'],
  },
  {
    name: 'worktrees: the repository root',
    text: lines(...HEAD, 'worktrees: ./', 'tasks:', ...OK_TASK),
    expected: ['F:3:12 worktrees: "./" is the repository root; choose a folder of its own, such as .swarm/worktrees'],
  },
  {
    name: 'lease.ttl below the minimum',
    text: lines(...HEAD, 'lease:', '  ttl: 1ms', 'tasks:', ...OK_TASK),
    expected: ['F:4:8 lease.ttl: expected at least 5s (the runner renews its leases every third of the ttl), got "1ms"'],
  },
  {
    name: 'prompt_file is a FIFO (never opened: opening one blocks)',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: pipe.md', '    files: [a]'),
    expected: [`F:5:18 task "a" prompt_file: "pipe.md" is a named pipe (FIFO), not a regular file (${join(dir, 'pipe.md')})`],
  },
  {
    name: 'prompt_file is /dev/zero (never read: it never ends)',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: /dev/zero', '    files: [a]'),
    expected: ['F:5:18 task "a" prompt_file: "/dev/zero" is a device, not a regular file (/dev/zero)'],
  },
  {
    name: 'prompt_file over 1 MiB',
    text: lines(...HEAD, 'tasks:', '  - id: a', '    prompt_file: big.md', '    files: [a]'),
    expected: [`F:5:18 task "a" prompt_file: "big.md" is larger than 1 MiB (${1024 * 1024 + 1} bytes) (${join(dir, 'big.md')})`],
  },
  {
    name: 'several problems are all reported, in order',
    text: lines('version: 1', 'nmae: t', 'retries: many', 'tasks:', '  - id: a', '    files: [a]', '    depends_on: [b]'),
    expected: [
      'F:2:1 unknown key "nmae" (did you mean "name"?)',
      'F:3:10 retries: expected a number, got "many"',
      'F:5:5 task "a" has no prompt: set prompt or prompt_file',
      'F:7:18 task "a" depends on unknown task "b"',
    ],
  },
];

describe('bad swarm files: every problem, at file:line:col', () => {
  test('the table is big enough to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
  test.each(cases)('$name', ({ text, expected }) => {
    const result = parseSpec(text, F);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map(brief)).toEqual(expected.map((e) => e.replace(/^F:/, `${F}:`)));
    for (const d of result.error) expect(d.severity).toBe('error');
  });
});
