/**
 * A scripted stand-in for the Anthropic Messages API, on 127.0.0.1 at a random port, so
 * tests can drive the real `claude` binary without any network or key.
 *
 * Each test gives a script: a list of turns (or a function of the request) that answer
 * the agent's main-loop requests in order. Everything else Claude Code asks for is
 * answered harmlessly and recorded, without consuming the script:
 *
 * - A request is a *main-loop* request when it carries a non-empty `tools` array: the
 *   agent loop always sends its tool definitions, while Claude Code's side queries
 *   (the quota probe, title/topic generation, Bash command-prefix checks on a small
 *   model) send none. Side queries get a short text reply (`sideReply`, default "ok").
 * - `POST /v1/messages/count_tokens` -> `{input_tokens}`; `GET /v1/models` -> empty list;
 *   `/api/...` (telemetry, feature flags, account) and anything else -> `200 {}`.
 *
 * Seen from claude 2.1.110 in `-p` mode with `claudeEnv`: one `HEAD /` connectivity probe,
 * then only main-loop requests (streamed, `max_tokens` 32000, with its ~20 tools); no side
 * queries. The classification is there so a newer CLI that adds some does not shift the
 * script. A test's own processes may call back on any other path (`/test/...`) and the
 * test awaits it with `waitFor`.
 *
 * Point claude at it with `claudeEnv(server, home)`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolUse {
  readonly name: string;
  readonly input: Record<string, unknown>;
  readonly id?: string;
}

/** One scripted answer to a main-loop request. */
export type Turn =
  | {
      readonly kind: 'reply';
      readonly text?: string;
      readonly tools?: readonly ToolUse[];
      /** Defaults to `tool_use` when there are tools, else `end_turn`. */
      readonly stopReason?: string;
      readonly usage?: { readonly input_tokens: number; readonly output_tokens: number };
    }
  | {
      readonly kind: 'error';
      /** 429 rate limit, 529 overloaded, 500 api error, ... */
      readonly status: number;
      /** Seconds, sent as `retry-after`. */
      readonly retryAfter?: number;
      readonly message?: string;
      /** More response headers, e.g. the `anthropic-ratelimit-unified-*` of a usage limit. */
      readonly headers?: Readonly<Record<string, string>>;
    };

export type ScriptStep = Turn | ((req: RecordedRequest) => Turn);
/** A list of steps taken in order, or one function asked for every main-loop request. */
export type Script = readonly ScriptStep[] | ((req: RecordedRequest, index: number) => Turn);

export interface RecordedRequest {
  readonly method: string;
  /** Without the query string; `url` has it. */
  readonly path: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body, or undefined. */
  readonly body: MessagesBody | undefined;
  /** `main` consumed a script step; `side` was a side query; `other` any other endpoint. */
  readonly role: 'main' | 'side' | 'other';
}

export interface MessagesBody {
  readonly model?: string;
  readonly max_tokens?: number;
  readonly stream?: boolean;
  readonly system?: unknown;
  readonly tools?: readonly { name: string }[];
  readonly messages?: readonly { role: string; content: string | readonly ContentBlock[] }[];
  readonly [key: string]: unknown;
}

export interface ContentBlock {
  readonly type: string;
  readonly text?: string;
  readonly id?: string;
  readonly name?: string;
  readonly input?: unknown;
  readonly tool_use_id?: string;
  readonly content?: unknown;
  readonly is_error?: boolean;
}

export interface ModelServer {
  readonly url: string;
  readonly port: number;
  /** Every request since the last `setScript`, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replaces the script and clears the recorded requests. */
  setScript(script: Script, opts?: { sideReply?: string }): void;
  mainRequests(): RecordedRequest[];
  /** Main-loop requests that arrived after the script ran out (answered with a plain end_turn). */
  readonly unscripted: number;
  /**
   * Resolves with the first request (already recorded or still to come) that matches.
   * A test's agent can call back, e.g. a Bash tool running `curl $URL/test/ready`, so the
   * test waits on a promise instead of sleeping.
   */
  waitFor(match: (req: RecordedRequest) => boolean): Promise<RecordedRequest>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ script builders

export const reply = (text: string): Turn => ({ kind: 'reply', text });
export const toolUse = (name: string, input: Record<string, unknown>, text?: string): Turn => ({
  kind: 'reply',
  tools: [{ name, input }],
  ...(text === undefined ? {} : { text }),
});
export const apiError = (status: number, retryAfter?: number, message?: string): Turn => ({
  kind: 'error',
  status,
  ...(retryAfter === undefined ? {} : { retryAfter }),
  ...(message === undefined ? {} : { message }),
});

/**
 * The account's usage limit, as the Messages API says it to a claude.ai login: 429 with
 * `anthropic-ratelimit-unified-status: rejected` and the reset in unix seconds. Claude
 * 2.1.110 reads these headers only with a subscription login (`CLAUDE_CODE_OAUTH_TOKEN`,
 * not `ANTHROPIC_API_KEY`; see `oauthEnv`), does not retry, and prints a `rate_limit_event`
 * with status `rejected` and `resetsAt`, then an error result.
 */
export const usageLimited = (resetsAtMs: number): Turn => ({
  kind: 'error',
  status: 429,
  message: 'usage limit reached',
  headers: {
    'anthropic-ratelimit-unified-status': 'rejected',
    'anthropic-ratelimit-unified-reset': String(Math.ceil(resetsAtMs / 1000)),
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
  },
});

/** The tool_result blocks of the last user message (what the agent's tools answered). */
export function toolResults(req: RecordedRequest): ContentBlock[] {
  const messages = req.body?.messages ?? [];
  const last = messages[messages.length - 1];
  if (!last || typeof last.content === 'string') return [];
  return last.content.filter((b) => b.type === 'tool_result');
}

/** All the text a request carries in its messages, for "did the model see X" assertions. */
export function messagesText(req: RecordedRequest): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v as Record<string, unknown>).forEach(walk);
  };
  walk(req.body?.messages ?? []);
  return parts.join('\n');
}

// ------------------------------------------------------------------ server

export async function startModelServer(): Promise<ModelServer> {
  let script: Script = [];
  let sideReply = 'ok';
  let step = 0;
  let unscripted = 0;
  let ids = 0;
  const requests: RecordedRequest[] = [];
  const waiters: { match: (req: RecordedRequest) => boolean; resolve: (req: RecordedRequest) => void }[] = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(e) } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: MessagesBody | undefined;
    try {
      body = raw ? (JSON.parse(raw) as MessagesBody) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const isMessages = method === 'POST' && path === '/v1/messages';
    const role: RecordedRequest['role'] = !isMessages ? 'other' : (body?.tools?.length ?? 0) > 0 ? 'main' : 'side';
    const recorded: RecordedRequest = { method, path, url: req.url ?? '/', headers: req.headers, body, role };
    requests.push(recorded);
    for (const w of [...waiters]) {
      if (!w.match(recorded)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(recorded);
    }

    if (!isMessages) return answerOther(path, res);
    if (role === 'side') return sendReply(res, body, { kind: 'reply', text: sideReply });

    const turn = nextTurn(recorded);
    if (turn.kind === 'error') return sendError(res, turn);
    return sendReply(res, body, turn);
  }

  function nextTurn(req: RecordedRequest): Turn {
    const index = step++;
    if (typeof script === 'function') return script(req, index);
    const s = script[index];
    if (s === undefined) {
      unscripted++;
      return { kind: 'reply', text: '(end of script)' };
    }
    return typeof s === 'function' ? s(req) : s;
  }

  function sendReply(res: ServerResponse, body: MessagesBody | undefined, turn: Extract<Turn, { kind: 'reply' }>): void {
    const model = body?.model ?? 'claude-sonnet-4-5';
    const id = `msg_test_${++ids}`;
    const tools = (turn.tools ?? []).map((t) => ({ ...t, id: t.id ?? `toolu_test_${++ids}` }));
    const stopReason = turn.stopReason ?? (tools.length > 0 ? 'tool_use' : 'end_turn');
    const usage = turn.usage ?? { input_tokens: 100, output_tokens: 20 };
    const content: ContentBlock[] = [
      ...(turn.text !== undefined ? [{ type: 'text', text: turn.text }] : []),
      ...tools.map((t) => ({ type: 'tool_use', id: t.id, name: t.name, input: t.input })),
    ];

    if (body?.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${id}` });
      res.end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        }),
      );
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'request-id': `req_${id}`,
    });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input_tokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
    send('ping', { type: 'ping' });
    content.forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text ?? '' } });
      } else {
        send('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        });
        // Split the JSON in two deltas, as the real API streams it in pieces.
        const json = JSON.stringify(block.input ?? {});
        const cut = Math.floor(json.length / 2);
        for (const partial of [json.slice(0, cut), json.slice(cut)]) {
          send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } });
        }
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    send('message_stop', { type: 'message_stop' });
    res.end();
  }

  function sendError(res: ServerResponse, turn: Extract<Turn, { kind: 'error' }>): void {
    const type =
      turn.status === 429
        ? 'rate_limit_error'
        : turn.status === 529
          ? 'overloaded_error'
          : turn.status === 401
            ? 'authentication_error'
            : turn.status === 400
              ? 'invalid_request_error'
              : 'api_error';
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (turn.retryAfter !== undefined) headers['retry-after'] = String(turn.retryAfter);
    Object.assign(headers, turn.headers);
    res.writeHead(turn.status, headers);
    res.end(JSON.stringify({ type: 'error', error: { type, message: turn.message ?? `scripted ${turn.status}` } }));
  }

  function answerOther(path: string, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (path === '/v1/messages/count_tokens') res.end(JSON.stringify({ input_tokens: 100 }));
    else if (path === '/v1/models') res.end(JSON.stringify({ data: [], has_more: false, first_id: null, last_id: null }));
    else res.end('{}');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScript(next, opts) {
      script = next;
      sideReply = opts?.sideReply ?? 'ok';
      step = 0;
      unscripted = 0;
      requests.length = 0;
    },
    mainRequests: () => requests.filter((r) => r.role === 'main'),
    get unscripted() {
      return unscripted;
    },
    waitFor(match) {
      const seen = requests.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * `claudeEnv` with a claude.ai subscription login (a fake `CLAUDE_CODE_OAUTH_TOKEN`, sent as
 * a Bearer token) instead of an API key: what makes claude read usage-limit headers.
 */
export function oauthEnv(server: ModelServer, home: string): Record<string, string | undefined> {
  return { ...claudeEnv(server, home), ANTHROPIC_API_KEY: undefined, CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-test-fake' };
}

/**
 * The environment that makes the real claude run headless against `server`, in a temp
 * `home` (see the claude runner tests for why each variable is there).
 */
export function claudeEnv(server: ModelServer, home: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-fake',
    HOME: home,
    CLAUDE_CONFIG_DIR: `${home}/.claude`,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
}
