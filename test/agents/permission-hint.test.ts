import { describe, expect, it } from 'vitest';
import { commandParts, suggestRule } from '../../src/agents/permission-hint.js';

describe('suggestRule: the allowed_tools entry for a refused call', () => {
  it('uses the part claude said needs approval, without its redirection', () => {
    const refusal = 'This Bash command contains multiple operations. The following part requires approval: npm test 2>&1';
    expect(suggestRule('Bash', { command: 'npm test 2>&1 | tail -5' }, refusal)).toBe('Bash(npm test:*)');
    expect(suggestRule('Bash', { command: 'cd x && make check | tee out' }, 'The following part requires approval: make check')).toBe('Bash(make check:*)');
  });

  it('without the refusal text: every part but the read-only ones claude runs without asking', () => {
    expect(suggestRule('Bash', { command: 'npm test 2>&1 | tail -5' })).toBe('Bash(npm test:*)');
    expect(suggestRule('Bash', { command: 'npm run build && git commit -m "x"' })).toBe('Bash(npm run build:*), Bash(git commit:*)');
    expect(suggestRule('Bash', { command: 'cat a | head' })).toBe('Bash(cat:*), Bash(head:*)');
  });

  it('other tools: the tool, or the host for WebFetch', () => {
    expect(suggestRule('WebFetch', { url: 'https://example.com/a?b' })).toBe('WebFetch(domain:example.com)');
    expect(suggestRule('WebFetch', { url: 'not a url' })).toBe('WebFetch');
    expect(suggestRule('Write', { file_path: '/etc/passwd' })).toBe('Write');
    expect(suggestRule('Bash', { command: '' })).toBe('Bash');
  });
});

describe('commandParts', () => {
  it('program and subcommand words; env assignments, flags, paths and redirections are not part of it', () => {
    expect(commandParts('FOO=1 BAR=2 pytest -q tests/ > out.txt; ./run.sh --fast')).toEqual(['pytest', './run.sh']);
    expect(commandParts('pnpm run test:unit || yarn exec vitest run')).toEqual(['pnpm run test:unit', 'yarn exec vitest']);
    expect(commandParts('git status\ngo test ./...')).toEqual(['git status', 'go test']);
    expect(commandParts('python script build && rm -rf dist')).toEqual(['python', 'rm']);
  });
});
