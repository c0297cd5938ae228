import { describe, expect, test } from 'vitest';
import type { Diagnostic } from '../../src/config/diagnostic.js';
import { parseSpec } from '../../src/config/load.js';
import { formatDiagnostics, summarizeDiagnostics } from '../../src/config/print.js';
import type { SourceLoc } from '../../src/config/spec.js';
import { lines } from './helpers.js';

const loc = (line: number, col: number, endCol: number, endLine = line, file = 'swarm.yaml'): SourceLoc => ({ file, line, col, endLine, endCol });

describe('formatDiagnostics', () => {
  test('prints file:line:col, the source line, and a caret under the span', () => {
    const text = lines('version: 1', 'tasks:', '  - id: a', '    dependson: [b]');
    const result = parseSpec(text, 'swarm.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const out = formatDiagnostics(result.error, () => text);
    expect(out).toContain(
      ['swarm.yaml:4:5 error: unknown key "dependson" in task "a" (did you mean "depends_on"?)', '  4 |     dependson: [b]', '    |     ^~~~~~~~~'].join('\n'),
    );
  });

  test('related places follow as notes, each with its own line and caret', () => {
    const src = lines('tasks:', '  - id: a', '    depends_on: [b]', '  - id: b', '    depends_on: [a]');
    const cycle: Diagnostic = {
      severity: 'error',
      message: 'cycle: a -> b -> a',
      loc: loc(2, 9, 10),
      related: [
        { message: 'a depends on b', loc: loc(3, 18, 19) },
        { message: 'b depends on a', loc: loc(5, 18, 19) },
      ],
    };
    expect(formatDiagnostics([cycle], () => src)).toBe(
      lines(
        'swarm.yaml:2:9 error: cycle: a -> b -> a',
        '  2 |   - id: a',
        '    |         ^',
        'swarm.yaml:3:18 note: a depends on b',
        '  3 |     depends_on: [b]',
        '    |                  ^',
        'swarm.yaml:5:18 note: b depends on a',
        '  5 |     depends_on: [a]',
        '    |                  ^',
      ),
    );
  });

  test('sorts by file, line and column; file-level problems come first', () => {
    const diags: Diagnostic[] = [
      { severity: 'error', message: 'third', loc: loc(2, 5, 6) },
      { severity: 'warning', message: 'second', loc: loc(2, 1, 2) },
      { severity: 'error', message: 'in b.yaml', loc: loc(1, 1, 2, 1, 'b.yaml') },
      { severity: 'error', message: 'no place' },
    ];
    const out = formatDiagnostics(diags, () => undefined);
    expect(out).toBe(lines('error: no place', '', 'b.yaml:1:1 error: in b.yaml', '', 'swarm.yaml:2:1 warning: second', '', 'swarm.yaml:2:5 error: third'));
  });

  test('a span over several lines is underlined to the end of its first line', () => {
    const out = formatDiagnostics([{ severity: 'error', message: 'm', loc: loc(1, 3, 2, 3) }], () => 'a: b: c\nmore\n');
    expect(out.split('\n').slice(1, 3)).toEqual(['  1 | a: b: c', '    |   ^~~~~']);
  });

  test('an empty span still gets a caret, at the end of the line if need be', () => {
    const out = formatDiagnostics([{ severity: 'error', message: 'm', loc: loc(1, 7, 7) }], () => 'tasks:\n');
    expect(out.split('\n').slice(1, 3)).toEqual(['  1 | tasks:', '    |       ^']);
  });

  test('tabs in the line keep the caret aligned', () => {
    const out = formatDiagnostics([{ severity: 'error', message: 'm', loc: loc(1, 5, 8) }], () => 'a:\t\t"xyz"\n');
    expect(out.split('\n').slice(1, 3)).toEqual(['  1 | a:  "xyz"', '    |     ^~~']);
  });

  test('the gutter widens with the line number', () => {
    const src = `${'# filler\n'.repeat(11)}bad: x\n`;
    const out = formatDiagnostics([{ severity: 'error', message: 'm', loc: loc(12, 1, 4) }], () => src);
    expect(out.split('\n').slice(1, 3)).toEqual(['  12 | bad: x', '     | ^~~']);
  });

  test('no color unless asked; with color, ANSI codes around the parts', () => {
    const d: Diagnostic[] = [{ severity: 'error', message: 'm', loc: loc(1, 1, 2) }];
    const plain = formatDiagnostics(d, () => 'x\n');
    expect(plain).not.toContain('\x1b[');
    const colored = formatDiagnostics(d, () => 'x\n', { color: true });
    expect(colored).toContain('\x1b[1;31merror\x1b[0m');
    expect(colored.replace(/\x1b\[[0-9;]*m/g, '')).toBe(plain);
  });

  test('a source that cannot be read prints the headline alone', () => {
    expect(formatDiagnostics([{ severity: 'error', message: 'm', loc: loc(3, 1, 2) }], () => undefined)).toBe('swarm.yaml:3:1 error: m\n');
  });

  test('reads each file once', () => {
    let reads = 0;
    const read = (): string => {
      reads++;
      return 'a\nb\n';
    };
    formatDiagnostics(
      [
        { severity: 'error', message: 'm', loc: loc(1, 1, 2) },
        { severity: 'error', message: 'n', loc: loc(2, 1, 2) },
      ],
      read,
    );
    expect(reads).toBe(1);
  });
});

test('summarizeDiagnostics counts errors and warnings', () => {
  expect(summarizeDiagnostics([])).toBe('no problems');
  expect(summarizeDiagnostics([{ severity: 'error', message: 'a' }])).toBe('1 error');
  expect(
    summarizeDiagnostics([
      { severity: 'error', message: 'a' },
      { severity: 'error', message: 'b' },
      { severity: 'warning', message: 'c' },
    ]),
  ).toBe('2 errors and 1 warning');
});
