/**
 * The local side on any OpenAI-compatible chat completions server (vLLM, llama.cpp's server,
 * LM Studio, Ollama's own `/v1`): an {@link LlmProvider} over the official `openai` client
 * (`chat.completions.create`, non-streaming), LOCAL=openai.
 *
 * The client is built with `maxRetries: 0` (the worker is the one retry layer, as for Bedrock) and
 * every call carries one AbortSignal combining `call.signal` and the per-call timeout
 * (`abortScope`), so a cancel, a deadline or a lost lock closes the socket.
 *
 * The request sends `max_tokens` (not `max_completion_tokens`): the OpenAI API reference marks
 * `max_tokens` deprecated for its own reasoning models only, and the local servers this backend is
 * for read `max_tokens` (vLLM, llama.cpp, Ollama's `/v1`); `temperature` when the call sets one.
 *
 * Errors (classes from openai-node `src/core/error.ts`, `APIError.generate`, read 2026-12-02 at
 * 6.49.0 in node_modules and 7.5.0 on github:openai/openai-node; the status each class stands for)
 * become {@link ProviderError}s with `provider: 'openai'`, mapped like the Ollama provider's:
 *
 * | client error                           | code               | retryable |
 * |----------------------------------------|--------------------|-----------|
 * | `NotFoundError` (404)                  | model_not_found    | no (names the model and `GET /v1/models`) |
 * | `AuthenticationError` (401), `PermissionDeniedError` (403) | auth_failed | no (names OPENAI_API_KEY) |
 * | `BadRequestError` (400), 422, other 4xx | invalid_request   | no        |
 * | `RateLimitError` (429)                 | throttled          | yes       |
 * | `InternalServerError` (5xx), 408, 409  | upstream_unavailable | yes     |
 * | `APIConnectionTimeoutError`, our timeout | timeout          | yes       |
 * | `APIConnectionError` (refused, reset, DNS) | connection_error | yes     |
 * | `call.signal` aborted (`APIUserAbortError`) | aborted (name `AbortError`) | no |
 * | a body that is not a completion        | bad_response       | yes       |
 *
 * Usage: `usage.prompt_tokens` / `usage.completion_tokens` (0 when a server sends no `usage`);
 * `usage.completion_tokens_details.reasoning_tokens` when the server reports it. `finish_reason`
 * becomes `stopReason` as the pipeline names it (`stop`, `length`, `content_filter`,
 * `tool_calls`), and `length` marks the reply `truncated`. A reasoning model's separate
 * `reasoning_content` (vLLM, llama.cpp) or `reasoning` (Ollama `/v1`) field is kept apart from the
 * text, in `reply.thinking` when the call asked for thinking.
 *
 * @example
 * const local = createOpenAiProvider({ baseURL: 'http://127.0.0.1:8000/v1', defaultModel: 'Qwen/Qwen3-8B', timeoutMs: 120_000 });
 * const reply = await local.generate({ prompt: 'Ask a follow-up question about: ...', signal });
 */
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ProviderError, errorMessage } from '../shared/errors';
import { abortScope } from './abort-scope';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';

/** Options of {@link createOpenAiProvider}. */
export interface OpenAiProviderOptions {
  /** The server's base URL, where `/chat/completions` and `/models` are (OPENAI_BASE_URL), e.g. `http://127.0.0.1:8000/v1`. */
  baseURL: string;
  /** Bearer key (OPENAI_API_KEY). Default: {@link PLACEHOLDER_API_KEY} (the client requires one; local servers ignore it). */
  apiKey?: string;
  /** Model used when a call names none (OPENAI_MODEL, else OLLAMA_MODEL). */
  defaultModel: string;
  /** Per-call timeout in ms when the call gives none (OPENAI_TIMEOUT_MS). */
  timeoutMs: number;
  /** The fetch under the client. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Sent when no key is configured: the `openai` client refuses to start without one ("Missing credentials"). */
export const PLACEHOLDER_API_KEY = 'no-key';

/** `finish_reason` (OpenAI API reference, chat completion object: stop, length, content_filter, tool_calls, function_call) → `stopReason`. */
export function stopReasonOf(finishReason: string | null | undefined): string {
  if (!finishReason) return 'stop';
  return finishReason === 'function_call' ? 'tool_calls' : finishReason;
}

interface CallContext {
  baseURL: string;
  model: string;
  timeoutMs: number;
  callSignal?: AbortSignal;
  timedOut: () => boolean;
}

function abortedError(ctx: CallContext): ProviderError {
  const reason = ctx.callSignal?.reason;
  const why = reason === undefined ? '' : `: ${errorMessage(reason)}`;
  const err = new ProviderError('openai', `OpenAI-compatible call to model "${ctx.model}" was aborted${why}`, {
    code: 'aborted',
    retryable: false,
    cause: reason,
  });
  // Callers tell a cancel from a timeout by name, like a DOM AbortError.
  err.name = 'AbortError';
  return err;
}

/** The server's own message of an APIError: `error.message` of the body, else the client's text. */
function upstreamMessage(err: InstanceType<typeof OpenAI.APIError>): string {
  const body = err.error as { message?: unknown } | undefined;
  return typeof body?.message === 'string' ? body.message : err.message;
}

/** Maps anything the client threw to a classified {@link ProviderError}. */
export function classifyOpenAiError(err: unknown, ctx: CallContext): ProviderError {
  if (ctx.callSignal?.aborted) return abortedError(ctx);
  const at = `the OpenAI-compatible server at ${ctx.baseURL}`;
  if (ctx.timedOut() || err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProviderError(
      'openai',
      `call to model "${ctx.model}" at ${ctx.baseURL} timed out after ${ctx.timeoutMs} ms (OPENAI_TIMEOUT_MS)`,
      { code: 'timeout', retryable: true, cause: err },
    );
  }
  // Subclass of APIError without a status: checked before the status classes.
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = (err as { cause?: { code?: unknown; cause?: { code?: unknown } } }).cause;
    const code = cause?.cause?.code ?? cause?.code;
    return new ProviderError(
      'openai',
      `cannot reach ${at}${typeof code === 'string' ? ` (${code})` : ''}: is the server running and OPENAI_BASE_URL right? ${errorMessage(cause ?? err)}`,
      {
        code: 'connection_error',
        retryable: true,
        cause: err,
      },
    );
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const upstream = upstreamMessage(err);
    const opts = { status, cause: err, details: { type: err.type, code: err.code, param: err.param } };
    if (err instanceof OpenAI.NotFoundError) {
      return new ProviderError(
        'openai',
        `${at} has no model "${ctx.model}" (${upstream}); set OPENAI_MODEL (or the conversation's localModel) to one that \`GET ${ctx.baseURL}/models\` lists`,
        { ...opts, code: 'model_not_found', retryable: false },
      );
    }
    if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) {
      return new ProviderError('openai', `${at} refused the key (${status}: ${upstream}); set OPENAI_API_KEY to the server's key`, {
        ...opts,
        code: 'auth_failed',
        retryable: false,
      });
    }
    if (err instanceof OpenAI.RateLimitError) {
      return new ProviderError('openai', `${at} is rate limiting model "${ctx.model}" (429: ${upstream})`, {
        ...opts,
        code: 'throttled',
        retryable: true,
      });
    }
    const retryable = status >= 500 || status === 408 || status === 409;
    const code = retryable ? 'upstream_unavailable' : 'invalid_request';
    return new ProviderError('openai', `${at} answered ${status} for model "${ctx.model}": ${upstream}`, { ...opts, code, retryable });
  }
  if (err instanceof SyntaxError) {
    return new ProviderError('openai', `${at} answered with a body that is not JSON: ${err.message}`, {
      code: 'bad_response',
      retryable: true,
      cause: err,
    });
  }
  return new ProviderError('openai', `OpenAI-compatible call to model "${ctx.model}" failed: ${errorMessage(err)}`, {
    code: 'upstream_error',
    retryable: true,
    cause: err,
  });
}

/** Builds the OpenAI-compatible {@link LlmProvider}. Throws a TypeError when a required option is missing. */
export function createOpenAiProvider(opts: OpenAiProviderOptions): LlmProvider {
  const { baseURL, defaultModel, timeoutMs } = opts;
  if (!baseURL) throw new TypeError('createOpenAiProvider: baseURL is required');
  if (!defaultModel) throw new TypeError('createOpenAiProvider: defaultModel is required');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createOpenAiProvider: timeoutMs must be > 0');
  // One client per provider: the signal and the timeout are per call (request options).
  const client = new OpenAI({
    baseURL,
    apiKey: opts.apiKey || PLACEHOLDER_API_KEY,
    timeout: timeoutMs,
    maxRetries: 0,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });

  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const callTimeout = call.timeoutMs ?? timeoutMs;
      const scope = abortScope([call.signal], callTimeout);
      const ctx: CallContext = {
        baseURL,
        model: call.model || defaultModel,
        timeoutMs: callTimeout,
        callSignal: call.signal,
        timedOut: () => scope.timedOut,
      };
      try {
        if (call.signal?.aborted) throw abortedError(ctx);
        const messages: ChatCompletionMessageParam[] = [];
        if (call.system) messages.push({ role: 'system', content: call.system });
        for (const turn of call.history ?? []) messages.push({ role: turn.role, content: turn.content });
        messages.push({ role: 'user', content: call.prompt });
        const body: ChatCompletionCreateParamsNonStreaming = { model: ctx.model, messages };
        if (call.maxTokens !== undefined) body.max_tokens = call.maxTokens;
        if (call.temperature !== undefined) body.temperature = call.temperature;
        const startedAt = performance.now();
        let res: ChatCompletion;
        try {
          // The client's own timeout only backs ours up (ours says which setting fired).
          res = await client.chat.completions.create(body, { signal: scope.signal, timeout: callTimeout + 1000 });
        } catch (err) {
          throw err instanceof ProviderError ? err : classifyOpenAiError(err, ctx);
        }
        return replyOf(res, ctx, call, Math.round(performance.now() - startedAt));
      } finally {
        scope.dispose();
      }
    },
  };
}

/** The reply of a completion; a body without a choice is a `bad_response` (retryable, like Ollama's unreadable body). */
function replyOf(res: ChatCompletion, ctx: CallContext, call: LlmCall, latencyMs: number): LlmReply {
  const choice = Array.isArray(res?.choices) ? res.choices[0] : undefined;
  if (!choice || typeof choice.message !== 'object' || choice.message === null) {
    throw new ProviderError(
      'openai',
      `the OpenAI-compatible server at ${ctx.baseURL} answered without a choice: ${JSON.stringify(res).slice(0, 200)}`,
      { code: 'bad_response', retryable: true },
    );
  }
  const message = choice.message as typeof choice.message & { reasoning_content?: unknown; reasoning?: unknown };
  const text = typeof message.content === 'string' ? message.content : '';
  const thinking =
    typeof message.reasoning_content === 'string'
      ? message.reasoning_content
      : typeof message.reasoning === 'string'
        ? message.reasoning
        : '';
  const stopReason = stopReasonOf(choice.finish_reason);
  const outputTokens = res.usage?.completion_tokens ?? 0;
  const reply: LlmReply = {
    text,
    model: res.model || ctx.model,
    inputTokens: res.usage?.prompt_tokens ?? 0,
    outputTokens,
    stopReason,
    latencyMs,
  };
  const reasoning = res.usage?.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number' && reasoning > 0) reply.reasoningTokens = reasoning;
  else if (thinking !== '' && text.trim() === '') reply.reasoningTokens = outputTokens;
  if (call.think === true && thinking !== '') reply.thinking = thinking;
  if (stopReason === 'length') reply.truncated = true;
  return reply;
}
