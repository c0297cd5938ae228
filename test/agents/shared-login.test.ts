import { describe, expect, it } from 'vitest';
import { sharedLoginWarning } from '../../src/agents/shared-login.js';
import { agent, makeSpec, makeTask } from '../engine/fakes.js';

const claude = agent({ kind: 'claude' });
const spec = makeSpec([makeTask('a', { agent: claude }), makeTask('b', { agent: claude }), makeTask('c')]);

describe('sharedLoginWarning', () => {
  it('warns when two claude tasks may run at once with no key or token, naming the fix', () => {
    const warning = sharedLoginWarning(spec, undefined, 2, {});
    expect(warning).toContain('2 claude tasks may run at once (concurrency 2)');
    expect(warning).toContain('claude setup-token');
    expect(warning).toContain('CLAUDE_CODE_OAUTH_TOKEN');
    expect(warning).toContain('isolate_config');
  });

  it('is quiet with a key or token in the environment, or in every task env', () => {
    for (const name of ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_USE_BEDROCK']) {
      expect(sharedLoginWarning(spec, undefined, 2, { [name]: 'x' }), name).toBeUndefined();
    }
    const withEnv = makeSpec([makeTask('a', { agent: claude, env: { CLAUDE_CODE_OAUTH_TOKEN: 't' } }), makeTask('b', { agent: claude })]);
    expect(sharedLoginWarning(withEnv, undefined, 2, {})).toBeUndefined();
    expect(sharedLoginWarning(spec, undefined, 2, { ANTHROPIC_API_KEY: '' })).toBeDefined();
  });

  it('is quiet when at most one claude agent runs at a time', () => {
    expect(sharedLoginWarning(spec, undefined, 1, {})).toBeUndefined();
    expect(sharedLoginWarning(spec, new Set(['a', 'c']), 3, {})).toBeUndefined();
  });
});
