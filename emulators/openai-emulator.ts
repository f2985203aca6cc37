/**
 * An OpenAI-compatible chat completions server that the unmodified `openai` npm client can call
 * with only its `baseURL` changed (LOCAL=openai under `npm start`, and the tests):
 * `POST /v1/chat/completions` (non-streaming) and `GET /v1/models`, with the deterministic
 * follow-up text of the Ollama emulator (emulated-text.ts), tagged `[emulated openai <model>]`.
 *
 * Written from the OpenAI API reference (chat completion object, list models) and the error shape
 * clients read (openai-node `APIError.generate` takes `body.error` and its `message`, `type`,
 * `param`, `code`; read 2026-12-02, github:openai/openai-node 7.5.0 `src/core/error.ts`):
 * `{"error": {"message", "type", "param", "code"}}`.
 *
 * | request                                        | answer |
 * |------------------------------------------------|--------|
 * | `apiKey` configured, no or another `Authorization: Bearer` | 401 `invalid_request_error` / `invalid_api_key`: "Incorrect API key provided: …" (the body OpenAI sends, as quoted in chatanywhere/GPT_API_free#62, 2023-07-18, and continuedev/continue#11409, 2026-03-14) |
 * | body not JSON, no `model`, `messages` not a non-empty list of `{role, content}`, `stream: true`, a bad `max_tokens` / `temperature` | 400 `invalid_request_error`, `param` naming the field |
 * | a model the server does not list                | 404 `invalid_request_error` / `model_not_found`: "The model `X` does not exist or you do not have access to it." (the body quoted in vierisid/jarvis#172, 2026-04-28) |
 * | fault `status` 429                              | 429, type `requests`, code `rate_limit_exceeded` (uncertain: the OpenAI docs show no verbatim 429 body; this is the body clients commonly quote) |
 * | fault `status` 5xx / other 4xx                  | that status, type `server_error` / `invalid_request_error` |
 * | fault `hang` / `malformed` / `midstream-error` / `validation` | no answer / 200 that is not JSON / 500 / 400 |
 * | `max_tokens` (or `max_completion_tokens`) below the reply's words | the reply cut to that many words, `finish_reason: "length"` |
 *
 * Tokens are words (emulated-text.ts `countTokens`): `usage.prompt_tokens` counts every message's
 * words, `completion_tokens` the reply's.
 *
 * @example
 * const emu = await startOpenAiEmulator({ models: ['llama3.2'], apiKey: 'sk-test' });
 * const client = new OpenAI({ baseURL: `${emu.url}/v1`, apiKey: 'sk-test' });
 * emu.faults.set({ faults: [{ kind: 'status', status: 429, count: 1 }] });
 */
import type { ServerResponse } from 'node:http';
import type { FaultSpec } from './emulator-config';
import { type EmulatorContext, type EmulatorHandle, type EmulatorRequest, sendJson, startEmulatorServer } from './emulator-server';
import { countTokens, ollamaReply, truncateWords } from './emulated-text';
import { FaultInjector, type InjectedFault } from './fault-injector';

export type { EmulatorHandle } from './emulator-server';

/** Options of {@link startOpenAiEmulator}. */
export interface OpenAiEmulatorOptions {
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Models `GET /v1/models` lists and chat accepts. Default `['llama3.2']`. */
  models?: string[];
  /** When set, every `/v1/*` request must carry `Authorization: Bearer <apiKey>`. Default: none checked (as local servers). */
  apiKey?: string;
  /** Added before every completion is answered, ms. Default 0. */
  latencyMs?: number;
  /** Fault rules active from the start (restored by `faults.reset()`). */
  faults?: FaultSpec[];
}

type ErrorType = 'invalid_request_error' | 'requests' | 'server_error';

/** The OpenAI error body. */
function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: ErrorType = status >= 500 ? 'server_error' : 'invalid_request_error',
  param: string | null = null,
  code: string | null = null,
): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

class BadRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
  }
}

interface ChatMessage {
  role: string;
  content: string;
}

/** The words of a message's content: a string, or the text parts of a content array. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((p: { type?: unknown; text?: unknown }) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : ''))
      .join(' ');
  if (content === null) return '';
  return undefined;
}

function readMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new BadRequest("Invalid 'messages': expected a non-empty array of messages.", 'messages');
  return value.map((m: { role?: unknown; content?: unknown }, i) => {
    const role = m?.role;
    if (typeof role !== 'string' || !['system', 'developer', 'user', 'assistant', 'tool'].includes(role)) {
      throw new BadRequest(
        `Invalid value for 'messages[${i}].role': expected one of system, developer, user, assistant, tool.`,
        `messages[${i}].role`,
      );
    }
    const content = contentText(m.content);
    if (content === undefined)
      throw new BadRequest(
        `Invalid type for 'messages[${i}].content': expected a string or an array of content parts.`,
        `messages[${i}].content`,
      );
    return { role, content };
  });
}

function readMaxTokens(body: Record<string, unknown>): number | undefined {
  for (const key of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new BadRequest(
        `Invalid '${key}': integer below minimum value. Expected a value >= 1, but got ${JSON.stringify(v)} instead.`,
        key,
      );
    return v as number;
  }
  return undefined;
}

const FAULT_MESSAGES: Record<number, string> = {
  429: 'Rate limit reached for requests (emulated fault). Please try again in 1s.',
  500: 'The server had an error while processing your request. Sorry about that! (emulated fault)',
  503: 'The engine is currently overloaded, please try again later. (emulated fault)',
};

function applyFault(fault: InjectedFault, res: ServerResponse): void {
  switch (fault.kind) {
    case 'hang':
      // Never answer: the socket stays open until the client aborts or the emulator closes.
      return;
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('emulated malformed response: this is not JSON\n');
      return;
    case 'midstream-error':
      sendError(res, 500, fault.message ?? FAULT_MESSAGES[500]!);
      return;
    case 'validation':
      sendError(res, 400, fault.message ?? 'Invalid request (emulated validation fault).', 'invalid_request_error');
      return;
    case 'status': {
      const status = fault.status ?? 500;
      if (status === 429) sendError(res, 429, fault.message ?? FAULT_MESSAGES[429]!, 'requests', null, 'rate_limit_exceeded');
      else sendError(res, status, fault.message ?? FAULT_MESSAGES[status] ?? `emulated fault ${status}`);
      return;
    }
  }
}

/** Starts the emulator; resolves once it listens. */
export async function startOpenAiEmulator(opts: OpenAiEmulatorOptions = {}): Promise<EmulatorHandle> {
  const models = [...new Set(opts.models ?? ['llama3.2'])];
  const created = Math.floor(Date.UTC(2026, 0, 1) / 1000);
  const faults = new FaultInjector({ latencyMs: opts.latencyMs ?? 0, faults: opts.faults ?? [] });

  /** True when the request may go on; else the 401 is sent. */
  function authorised(req: EmulatorRequest, res: ServerResponse): boolean {
    if (opts.apiKey === undefined) return true;
    const header = String(req.headers['authorization'] ?? '');
    const key = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (key === opts.apiKey) return true;
    if (!key) {
      sendError(
        res,
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
        null,
        null,
      );
    } else {
      const shown = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '*'.repeat(key.length);
      sendError(
        res,
        401,
        `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    }
    return false;
  }

  async function chat(req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(req.body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
      body = parsed as Record<string, unknown>;
    } catch {
      ctx.faults.decide('chat', undefined, false);
      return sendError(
        res,
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
      );
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const fault = ctx.faults.decide('chat', model || undefined);
    const leave = ctx.faults.enter();
    try {
      if (!(await ctx.delay(ctx.faults.latencyMs))) return;
      if (fault) return applyFault(fault, res);
      if (model === '') return sendError(res, 400, 'you must provide a model parameter', 'invalid_request_error', 'model');
      let messages: ChatMessage[];
      let maxTokens: number | undefined;
      try {
        messages = readMessages(body.messages);
        maxTokens = readMaxTokens(body);
        if (body.stream === true)
          throw new BadRequest('This emulator answers non-streaming requests only: leave `stream` out or false.', 'stream');
        const t = body.temperature;
        if (t !== undefined && t !== null && (typeof t !== 'number' || t < 0 || t > 2))
          throw new BadRequest(
            `Invalid 'temperature': expected a number between 0 and 2, but got ${JSON.stringify(t)} instead.`,
            'temperature',
          );
      } catch (err) {
        if (err instanceof BadRequest) return sendError(res, 400, err.message, 'invalid_request_error', err.param);
        throw err;
      }
      if (!models.includes(model)) {
        return sendError(
          res,
          404,
          `The model \`${model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        );
      }
      const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      const temperature = typeof body.temperature === 'number' ? body.temperature : 0;
      const full = ollamaReply(model, prompt, temperature, 'openai');
      const cut = maxTokens === undefined ? { text: full, truncated: false } : truncateWords(full, maxTokens);
      const promptTokens = messages.reduce((n, m) => n + countTokens(m.content), 0);
      const completionTokens = countTokens(cut.text);
      sendJson(res, 200, {
        id: `chatcmpl-emu${Date.now().toString(36)}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: cut.text, refusal: null },
            logprobs: null,
            finish_reason: cut.truncated ? 'length' : 'stop',
          },
        ],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      });
    } finally {
      leave();
    }
  }

  const router = async (req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> => {
    const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
    if (req.path.startsWith('/v1/') && !authorised(req, res)) return;
    switch (route) {
      case 'POST /v1/chat/completions':
        return chat(req, res, ctx);
      case 'GET /v1/models':
        ctx.faults.decide('models', undefined, false);
        return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created, owned_by: 'emulator' })) });
      default: {
        const m = /^GET \/v1\/models\/(.+)$/.exec(route);
        if (m) {
          const id = decodeURIComponent(m[1]!);
          if (models.includes(id)) return sendJson(res, 200, { id, object: 'model', created, owned_by: 'emulator' });
          return sendError(
            res,
            404,
            `The model \`${id}\` does not exist or you do not have access to it.`,
            'invalid_request_error',
            null,
            'model_not_found',
          );
        }
        return sendError(res, 404, `Invalid URL (${route})`);
      }
    }
  };

  return startEmulatorServer({
    host: opts.host,
    port: opts.port,
    faults,
    router,
    sendError: (res, status, message) => sendError(res, status, message),
  });
}
