import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStreamLine, toolSummary, type StreamItem } from '../../src/agents/stream-json.js';

/** Lines recorded from the real claude 2.1.110 against the scripted model server. */
function fixture(name: string): { lines: string[]; cwd: string } {
  const lines = readFileSync(new URL(`./fixtures/${name}.jsonl`, import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const init = JSON.parse(lines[0]!) as { cwd: string };
  return { lines, cwd: init.cwd };
}

function parseAll(name: string): StreamItem[] {
  const { lines, cwd } = fixture(name);
  return lines.flatMap((l) => parseStreamLine(l, cwd));
}

describe('parseStreamLine on recorded claude output', () => {
  it('a usage limit (429 with anthropic-ratelimit-unified-status: rejected, an OAuth login): the reset in ms, then the error result', () => {
    const items = parseAll('claude-usage-limit');
    expect(items.filter((i) => i.reason === 'usage-limit')).toEqual([{ reason: 'usage-limit', resetsAt: 1796174252000 }]);
    expect(items.at(-1)).toMatchObject({ reason: 'result', isError: true, message: "You've hit your session limit · resets 1:17am (UTC)", authFailed: false });
  });

  it('rate_limit_event with status allowed or allowed_warning is only news', () => {
    for (const status of ['allowed', 'allowed_warning']) {
      expect(parseStreamLine(JSON.stringify({ type: 'rate_limit_event', rate_limit_info: { status, resetsAt: 1796174252 } }), '/')).toEqual([]);
    }
  });

  it('a Bash and an Edit tool use, then text and a successful result', () => {
    expect(parseAll('claude-bash')).toEqual([
      { reason: 'session', sessionId: '10d345b8-3ecb-40f5-bfe7-7cd579c58bb1' },
      { reason: 'tool', tool: 'Bash', summary: 'Bash echo hi > bash.txt' },
      { reason: 'tool', tool: 'Edit', summary: 'Edit bash.txt' },
      { reason: 'output', text: 'done' },
      {
        reason: 'result',
        isError: false,
        subtype: 'success',
        sessionId: '10d345b8-3ecb-40f5-bfe7-7cd579c58bb1',
        costUsd: 0.0018000000000000002,
        turns: 3,
        message: 'done',
        denials: [],
        authFailed: false,
      },
    ]);
  });

  it('an api_retry line after a 429', () => {
    const items = parseAll('claude-retry');
    expect(items).toContainEqual({ reason: 'api-retry', retryAttempt: 1, delayMs: 538, error: 'rate limited (HTTP 429)' });
    expect(items.at(-1)).toMatchObject({ reason: 'result', isError: false, message: 'after retry', turns: 1 });
  });

  it('an API error: subtype "success" but is_error true', () => {
    const result = parseAll('claude-err400').at(-1);
    expect(result).toMatchObject({ reason: 'result', isError: true, subtype: 'success', costUsd: 0 });
    expect(result?.reason === 'result' && result.message).toContain('bad thing');
  });
});

describe('parseStreamLine on edge cases', () => {
  it('ignores lines that are not JSON objects and message types it does not use', () => {
    expect(parseStreamLine('', '/w')).toEqual([]);
    expect(parseStreamLine('not json', '/w')).toEqual([]);
    expect(parseStreamLine('[1,2]', '/w')).toEqual([]);
    expect(parseStreamLine('{"type":"user","message":{"content":[]}}', '/w')).toEqual([]);
    expect(parseStreamLine('{"type":"system","subtype":"hook_response"}', '/w')).toEqual([]);
  });

  it('treats a result without is_error as a failure, and reads errors[] when there is no result text', () => {
    expect(parseStreamLine('{"type":"result","subtype":"success","result":"hm"}', '/w')).toEqual([
      { reason: 'result', isError: true, subtype: 'success', message: 'hm', denials: [], authFailed: false },
    ]);
    expect(
      parseStreamLine('{"type":"result","subtype":"error_max_turns","is_error":true,"errors":["Reached maximum number of turns (2)"],"num_turns":3}', '/w'),
    ).toEqual([
      { reason: 'result', isError: true, subtype: 'error_max_turns', turns: 3, message: 'Reached maximum number of turns (2)', denials: [], authFailed: false },
    ]);
  });
});

describe('parseStreamLine on refusals and logins (recorded from claude 2.1.110)', () => {
  it('a Bash call refused under acceptEdits: the refusal text from the tool result, the denial from the result', () => {
    const items = parseAll('claude-denied');
    const refusal = items.find((i) => i.reason === 'refusal');
    expect(refusal).toMatchObject({
      toolUseId: 'toolu_test_2',
      text: 'This Bash command contains multiple operations. The following part requires approval: npm test 2>&1',
    });
    // The allowed command's result (git status) is not a refusal.
    expect(items.filter((i) => i.reason === 'refusal')).toHaveLength(1);
    expect(items.at(-1)).toMatchObject({
      reason: 'result',
      isError: false,
      authFailed: false,
      denials: [{ tool: 'Bash', toolUseId: 'toolu_test_2', input: { command: 'npm test 2>&1 | tail -5', description: 'run tests' } }],
    });
  });

  it('a 401: api_retry lines with status 401, then an authentication_failed assistant line and a result with api_error_status 401', () => {
    const items = parseAll('claude-401');
    expect(items).toContainEqual(expect.objectContaining({ reason: 'api-retry', error: 'authentication failed (HTTP 401)' }));
    expect(items).toContainEqual({ reason: 'auth-error', message: 'Invalid API key · Fix external API key' });
    expect(items.filter((i) => i.reason === 'output')).toEqual([]);
    expect(items.at(-1)).toMatchObject({ reason: 'result', isError: true, authFailed: true, message: 'Invalid API key · Fix external API key' });
  });

  it('no login at all: no request made, the same authentication_failed line, a result without api_error_status', () => {
    const items = parseAll('claude-no-login');
    expect(items).toContainEqual({ reason: 'auth-error', message: 'Not logged in · Please run /login' });
    expect(items.at(-1)).toMatchObject({ reason: 'result', isError: true, authFailed: false, message: 'Not logged in · Please run /login' });
  });
});

describe('toolSummary', () => {
  it('names files relative to the worktree, and keeps paths outside it absolute', () => {
    expect(toolSummary('Edit', { file_path: '/repo/wt/src/auth/login.ts' }, '/repo/wt')).toBe('Edit src/auth/login.ts');
    expect(toolSummary('Write', { file_path: '/etc/passwd' }, '/repo/wt')).toBe('Write /etc/passwd');
    expect(toolSummary('Write', { file_path: '/repo/wt-other/a.ts' }, '/repo/wt')).toBe('Write /repo/wt-other/a.ts');
    expect(toolSummary('NotebookEdit', { notebook_path: '/repo/wt/n.ipynb' }, '/repo/wt')).toBe('NotebookEdit n.ipynb');
  });

  it('keeps Bash to its first line and clips long summaries', () => {
    expect(toolSummary('Bash', { command: 'npm test\nnpm run lint' }, '/w')).toBe('Bash npm test …');
    const long = toolSummary('Bash', { command: 'x'.repeat(500) }, '/w');
    expect(long.length).toBe(120);
    expect(long.endsWith('…')).toBe(true);
  });

  it('summarizes search, subagent and unknown tools', () => {
    expect(toolSummary('Grep', { pattern: 'TODO', path: '/w/src' }, '/w')).toBe('Grep TODO in src');
    expect(toolSummary('Task', { description: 'Explore auth', prompt: 'long' }, '/w')).toBe('Task Explore auth');
    expect(toolSummary('mcp__db__query', { sql: 'select 1' }, '/w')).toBe('mcp__db__query select 1');
    expect(toolSummary('TodoWrite', { todos: [] }, '/w')).toBe('TodoWrite');
  });
});
