/**
 * A scripted stand-in for OpenAI's Responses API, on 127.0.0.1 at a random port, so tests
 * can drive the real `codex` binary without any network or key.
 *
 * Each `POST /v1/responses` (streamed) takes the next turn of the script: a shell command
 * for codex to run (its `exec_command` tool), a final message, or an HTTP error. Requests
 * are recorded. Point codex at it with `codexProviderArgs(server)` (a model provider of
 * its own, given with `-c`) and `codexEnv(home)`.
 *
 * Seen from codex-cli 0.169.0 with a custom provider: only `POST /v1/responses`, with the
 * whole conversation so far in `input` (a tool's result as `function_call_output`).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type ResponsesTurn =
  | { readonly kind: 'exec'; readonly cmd: string }
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'error'; readonly status: number; readonly message: string; readonly body?: Record<string, unknown> };

/**
 * The account's usage limit as the Responses API says it to a ChatGPT login: 429 with an
 * error of type `usage_limit_reached` and `resets_at` in unix seconds. Codex 0.169.0 does
 * not retry it, and prints only text: "You’ve hit your usage limit. … try again at 1:33 AM."
 */
export function codexUsageLimit(resetsAtMs: number): ResponsesTurn {
  const message = 'The usage limit has been reached';
  return {
    kind: 'error',
    status: 429,
    message,
    body: { error: { type: 'usage_limit_reached', message, plan_type: 'plus', resets_at: Math.floor(resetsAtMs / 1000) } },
  };
}

export interface ResponsesRequest {
  readonly body: { readonly model?: string; readonly input: readonly Record<string, unknown>[] };
}

export class ResponsesServer {
  readonly requests: ResponsesRequest[] = [];
  readonly #server;
  readonly #script: ResponsesTurn[];
  #n = 0;

  private constructor(script: readonly ResponsesTurn[]) {
    this.#script = [...script];
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(script: readonly ResponsesTurn[]): Promise<ResponsesServer> {
    const s = new ResponsesServer(script);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  /** Adds turns for later requests. */
  push(...turns: ResponsesTurn[]): void {
    this.#script.push(...turns);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    this.requests.push({ body: JSON.parse(text) as ResponsesRequest['body'] });
    const turn = this.#script.shift() ?? { kind: 'message', text: 'Nothing more to do.' };
    if (turn.kind === 'error') {
      res.writeHead(turn.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(turn.body ?? { error: { message: turn.message, type: 'invalid_request_error' } }));
      return;
    }
    const n = ++this.#n;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (type: string, data: Record<string, unknown>): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    send('response.created', { response: { id: `resp_${n}` } });
    const item =
      turn.kind === 'exec'
        ? { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: turn.cmd }) }
        : { type: 'message', role: 'assistant', id: `msg_${n}`, content: [{ type: 'output_text', text: turn.text }] };
    send('response.output_item.done', { item, output_index: 0 });
    const usage = {
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 120,
    };
    send('response.completed', { response: { id: `resp_${n}`, usage } });
    res.end();
  }
}

/** `agent.args` that point codex at `server` as a model provider of its own. */
export function codexProviderArgs(server: ResponsesServer): string[] {
  return [
    '-c',
    `model_providers.swarmtest={ name = "swarmtest", base_url = "${server.url}", wire_api = "responses", env_key = "OPENAI_API_KEY" }`,
    '-c',
    'model_provider=swarmtest',
  ];
}

/** A fake key and a temp HOME/CODEX_HOME: nothing of the machine's own codex setup is used. */
export function codexEnv(home: string): Record<string, string> {
  const codexHome = join(home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  return { HOME: home, CODEX_HOME: codexHome, OPENAI_API_KEY: 'sk-test-not-a-real-key' };
}

/** The codex binary of the pinned devDependency. */
export const CODEX_BIN = join(import.meta.dirname, '../../node_modules/.bin/codex');
