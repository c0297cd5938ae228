import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { annotation, escapeData, escapeProperty, outputEntries } from '../../src/report/github.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo, type TempRepo } from '../helpers/git-repo.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/**
 * Three command agents: `a` writes its file; `b` says two lines (one with `%` and `:` that
 * must be escaped) and exits 3; `c` depends on `b`. No sandbox, no retries: seconds.
 */
const SWARM = [
  'version: 1',
  'name: gha',
  'retries: 0',
  'agent:',
  '  kind: command',
  '  sandbox: off',
  `  command: ["sh", "-c", "if [ $SWARM_TASK = b ]; then echo 'first line of b'; echo 'boom: 50% done, then it broke'; exit 3; fi; echo $SWARM_TASK > out-$SWARM_TASK.txt"]`,
  'tasks:',
  '  - id: a',
  '    prompt: Do a.',
  '    files: ["out-a.txt"]',
  '  - id: b',
  '    prompt: Do b.',
  '    files: ["out-b.txt"]',
  '  - id: c',
  '    prompt: Do c.',
  '    files: ["out-c.txt"]',
  '    depends_on: [b]',
  '',
].join('\n');

function setup(text: string): { repo: TempRepo; summary: string; output: string; env: Record<string, string> } {
  const repo = tempRepo();
  const tmp = mkdtempSync(join(tmpdir(), 'swarm-gha-'));
  cleanups.push(
    () => repo.cleanup(),
    () => rmSync(tmp, { recursive: true, force: true }),
  );
  repo.write('swarm.yaml', text);
  repo.commitAll('swarm file');
  const summary = join(tmp, 'step_summary.md');
  const output = join(tmp, 'output');
  // Something an earlier command of the step wrote: swarm appends after it.
  writeFileSync(summary, 'before swarm\n');
  return {
    repo,
    summary,
    output,
    env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output, GITHUB_WORKSPACE: repo.dir },
  };
}

/** `name<<DELIM` ... `DELIM` blocks, read back as the runner reads them. */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const end = lines.indexOf(m[2]!, i + 1);
    expect(end, `the delimiter of ${m[1]} is closed`).toBeGreaterThan(i);
    out[m[1]!] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return out;
}

/** 1-based line and column of `- id: <id>`'s value in the file. */
function idPlace(text: string, id: string): { line: number; col: number } {
  const lines = text.split('\n');
  const line = lines.indexOf(`  - id: ${id}`);
  return { line: line + 1, col: lines[line]!.indexOf(id) + 1 };
}

describe('swarm run in GitHub Actions', () => {
  it('folds each task in a group, annotates failures on the file, writes the job summary and the step outputs', async () => {
    const { repo, summary, output, env } = setup(SWARM);
    const r = await swarm(['run', 'swarm.yaml', '--ui', 'plain'], { cwd: repo.dir, env });
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const stdout = String(r.stdout);
    const lines = stdout.split('\n');

    // Groups: one per task, never nested, each closed; its lines are the task's.
    let open: string | undefined;
    const groups = new Map<string, string[]>();
    for (const line of lines) {
      if (line.startsWith('::group::')) {
        expect(open, `group opened inside ${open}`).toBeUndefined();
        open = line.slice('::group::'.length);
        groups.set(open, []);
      } else if (line === '::endgroup::') {
        expect(open).toBeDefined();
        open = undefined;
      } else if (open !== undefined) groups.get(open)!.push(line);
    }
    expect(open).toBeUndefined();
    expect([...groups.keys()].sort()).toEqual(['a: merged', 'b: failed: the agent exited with code 3: exit 3', 'c: blocked: dependency b failed']);
    const bLines = groups.get('b: failed: the agent exited with code 3: exit 3')!;
    expect(bLines.every((l) => / b +/.test(l))).toBe(true);
    expect(bLines.some((l) => l.includes('> boom: 50% done, then it broke'))).toBe(true);
    expect(groups.get('a: merged')!.some((l) => /merged as [0-9a-f]{10}/.test(l))).toBe(true);
    // State changes still print as they happen, outside the folds.
    expect(lines.filter((l) => / a +running$/.test(l)).length).toBe(2);

    // Annotations on each task's `id:` in the file; `%`, `:` and newlines escaped.
    const b = idPlace(SWARM, 'b');
    const c = idPlace(SWARM, 'c');
    expect(lines).toContain(
      `::error file=swarm.yaml,line=${b.line},col=${b.col},endColumn=${b.col + 1},title=swarm%3A task b failed::the agent exited with code 3: exit 3%0Afirst line of b%0Aboom: 50%25 done, then it broke%0Asee: swarm logs b`,
    );
    expect(lines).toContain(
      `::warning file=swarm.yaml,line=${c.line},col=${c.col},endColumn=${c.col + 1},title=swarm%3A task c blocked::blocked: dependency b failed%0Asee: swarm logs c`,
    );
    expect(lines.filter((l) => l.startsWith('::error') || l.startsWith('::warning'))).toHaveLength(2);

    // The job summary, after what the step had written.
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('before swarm\n## swarm run `gha`: ❌ failed\n')).toBe(true);
    expect(md).toContain('**1 of 3 tasks merged** into `swarm/gha`');
    expect(md).toContain('| task | state | attempts | time | cost | detail |');
    expect(md).toMatch(/^\| `a`( ⚑)? \| ✅ merged \| 1 \| \d+(ms|s) \| – \| {2}\|$/m);
    expect(md).toMatch(/^\| `b`( ⚑)? \| ❌ failed \| 1 \| \d+(ms|s) \| – \| the agent exited with code 3: exit 3 \|$/m);
    expect(md).toMatch(/^\| `c` \| ⛔ blocked \| 0 \| – \| – \| blocked: dependency b failed \|$/m);
    expect(md).toContain('#### `b`: failed after 1 attempt');
    expect(md).toContain('```text\nfirst line of b\nboom: 50% done, then it broke\n```');
    const chart = /```mermaid\n([\s\S]*?)\n```/.exec(md)?.[1];
    expect(chart).toBeDefined();
    expect(chart).toContain('gantt\n');
    expect(chart).toContain('dateFormat x');
    expect(chart).toMatch(/section a( ⚑)?\n/);
    expect(chart).toMatch(/section b( ⚑)?\n/);
    expect(chart).not.toContain('section c');
    expect(chart).toMatch(/^ {2}agent :(crit, )?\d{13}, \d{13}$/m);
    expect(chart).toMatch(/^ {2}merging :(crit, )?\d{13}, \d{13}$/m);

    // The outputs, multi-line ones in the heredoc syntax.
    expect(parseOutputs(readFileSync(output, 'utf8'))).toEqual({ into: 'swarm/gha', outcome: 'failed', merged: 'a', failed: 'b\nc' });

    // `swarm report --format markdown` is the same summary (execa drops the last newline).
    const report = await swarm(['report', '--format', 'markdown'], { cwd: repo.dir });
    expect(report.exitCode, String(report.stderr)).toBe(0);
    expect(`before swarm\n${String(report.stdout)}\n`).toBe(md);
    const pdf = await swarm(['report', '--format', 'pdf'], { cwd: repo.dir });
    expect([pdf.exitCode, String(pdf.stderr)]).toEqual([2, 'swarm report: --format: expected text, json, markdown or html, got "pdf"']);
  });

  it('annotates config errors with their file, line and column (validate, plan and run)', async () => {
    const broken = SWARM.replace('    depends_on: [b]', '    dependson: [b]');
    const { repo, env } = setup(SWARM);
    repo.write('ci/broken.yaml', broken);
    const line = broken.split('\n').indexOf('    dependson: [b]') + 1;
    const expected = `::error file=ci/broken.yaml,line=${line},col=5,endColumn=14,title=swarm%3A invalid swarm file::unknown key "dependson" in task "c" (did you mean "depends_on"?)`;
    for (const command of ['validate', 'plan', 'run']) {
      const r = await swarm([command, 'ci/broken.yaml'], { cwd: repo.dir, env });
      expect(r.exitCode, command).toBe(2);
      expect(String(r.stdout).split('\n'), command).toContain(expected);
      expect(String(r.stderr), command).toContain(`ci/broken.yaml:${line}:5 error: unknown key "dependson"`);
    }
    // Outside GitHub Actions (GITHUB_OUTPUT set or not): the same errors, no workflow commands.
    const plain = await swarm(['validate', 'ci/broken.yaml'], { cwd: repo.dir });
    expect(plain.exitCode).toBe(2);
    expect(String(plain.stdout)).not.toContain('::');
  });
});

describe('workflow commands', () => {
  it('escape data and properties as the toolkit does', () => {
    expect(escapeData('50% a\r\nb: c, d')).toBe('50%25 a%0D%0Ab: c, d');
    expect(escapeProperty('50% a\r\nb: c, d')).toBe('50%25 a%0D%0Ab%3A c%2C d');
    expect(annotation({ level: 'error', message: 'x: 1%\ny', file: 'a,b:c.yaml', line: 3, col: 4, title: 't: u' })).toBe(
      '::error file=a%2Cb%3Ac.yaml,line=3,col=4,title=t%3A u::x: 1%25%0Ay',
    );
  });

  it('write outputs with a delimiter no value holds', () => {
    expect(outputEntries({ failed: 'b\nc', into: 'swarm/x' }, 'EOF_1')).toBe('failed<<EOF_1\nb\nc\nEOF_1\ninto<<EOF_1\nswarm/x\nEOF_1\n');
    expect(() => outputEntries({ failed: 'x\nEOF_1\ny' }, 'EOF_1')).toThrow(/delimiter/);
  });
});
