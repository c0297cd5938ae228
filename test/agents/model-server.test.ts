import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, reply, startModelServer, toolResults, toolUse, type ModelServer } from '../helpers/model-server.js';

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer();
});
afterAll(() => server.close());

const TOOLS = [{ name: 'Write', input_schema: { type: 'object' } }];

function post(path: string, body: unknown): Promise<Response> {
  return fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The SSE stream as [event, data] pairs. */
async function events(res: Response): Promise<[string, Record<string, unknown>][]> {
  const text = await res.text();
  return text
    .trim()
    .split('\n\n')
    .map((chunk) => {
      const [ev, data] = chunk.split('\n');
      return [ev!.replace('event: ', ''), JSON.parse(data!.replace('data: ', '')) as Record<string, unknown>];
    });
}

describe('the scripted model server', () => {
  it('streams a tool use as the Messages API does, JSON input in input_json_delta pieces', async () => {
    server.setScript([toolUse('Write', { file_path: '/w/a.ts', content: 'x' }, 'Writing.')]);
    const res = await post('/v1/messages', { model: 'claude-test', stream: true, tools: TOOLS, messages: [{ role: 'user', content: 'go' }] });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const evs = await events(res);
    expect(evs.map(([e]) => e)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const json = evs
      .filter(([, d]) => (d.delta as { type?: string } | undefined)?.type === 'input_json_delta')
      .map(([, d]) => (d.delta as { partial_json: string }).partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ file_path: '/w/a.ts', content: 'x' });
    expect(evs[9]![1]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 20 } });
    expect((evs[0]![1].message as { model: string }).model).toBe('claude-test');
  });

  it('answers side queries (no tools) without consuming the script, and non-streamed replies as one message', async () => {
    server.setScript([reply('main answer')]);
    const side = await post('/v1/messages', { model: 'haiku', max_tokens: 1, messages: [{ role: 'user', content: 'quota' }] });
    expect(await side.json()).toMatchObject({ content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn' });
    const main = await post('/v1/messages', { model: 'sonnet', tools: TOOLS, messages: [{ role: 'user', content: 'go' }] });
    expect(await main.json()).toMatchObject({ content: [{ type: 'text', text: 'main answer' }], stop_reason: 'end_turn' });
    expect(server.requests.map((r) => r.role)).toEqual(['side', 'main']);
    expect(server.unscripted).toBe(0);
  });

  it('injects errors with retry-after, and lets a step look at the request', async () => {
    server.setScript([
      apiError(429, 2),
      apiError(529),
      (req) =>
        reply(
          `saw: ${toolResults(req)
            .map((b) => String(b.content))
            .join(',')}`,
        ),
    ]);
    const body = {
      tools: TOOLS,
      messages: [
        { role: 'user', content: 'go' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'denied: outside your files', is_error: true }] },
      ],
    };
    const limited = await post('/v1/messages', body);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    const overloaded = await post('/v1/messages', body);
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({ error: { type: 'overloaded_error' } });
    const third = await post('/v1/messages', body);
    expect(await third.json()).toMatchObject({ content: [{ text: 'saw: denied: outside your files' }] });
    // Past the end of the script: a plain end_turn, counted.
    await (await post('/v1/messages', body)).json();
    expect(server.unscripted).toBe(1);
  });

  it('answers other endpoints harmlessly, records them, and wakes waiters', async () => {
    server.setScript([]);
    const waiting = server.waitFor((r) => r.path === '/test/ready');
    expect(await (await post('/v1/messages/count_tokens', { messages: [] })).json()).toEqual({ input_tokens: 100 });
    expect(await (await fetch(`${server.url}/v1/models`)).json()).toMatchObject({ data: [] });
    expect(await (await post('/api/event_logging/batch', {})).json()).toEqual({});
    await fetch(`${server.url}/test/ready?pid=42`);
    const ready = await waiting;
    expect(ready.url).toBe('/test/ready?pid=42');
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.role}`)).toEqual([
      'POST /v1/messages/count_tokens other',
      'GET /v1/models other',
      'POST /api/event_logging/batch other',
      'GET /test/ready other',
    ]);
  });
});
