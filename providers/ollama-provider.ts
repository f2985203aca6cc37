/**
 * The local side of a conversation: an {@link LlmProvider} backed by Ollama through the official
 * `ollama` client (`chat`, non-streaming).
 *
 * Cancellation: ollama-js's `abort()` aborts every streamed request of a client and non-streaming
 * calls take no signal at all, so each call gets its own client whose `fetch` carries an AbortSignal
 * combining `call.signal` and the call timeout (`abortScope`, freed when the call ends). Aborting really
 * closes the socket (the request does not run on after the job gave up).
 *
 * Every call sends `think` (false unless the call asks for thinking: current Ollama turns thinking
 * on by default for models that can think, and the reasoning then eats `num_predict`),
 * `keep_alive` (so the model stays loaded between turns) and `options.num_ctx` when configured.
 * The reasoning of a thinking call comes back in `reply.thinking`, never in `reply.text`.
 * `reply.promptTruncated` is set when Ollama must have cut the prompt to the context window (it
 * does so silently, ollama/ollama `server/prompt.go` `chatPrompt`): known only with `numCtx`.
 *
 * Errors are {@link ProviderError}s with `provider: 'ollama'`:
 * - 404 (unknown model): permanent, code `model_not_found`, the message names the model and `ollama pull <model>`;
 * - 400 and other 4xx: permanent; 408/429/5xx: retryable (see `isRetryableStatus`), except the 500s
 *   that no retry can fix (the model does not fit in memory, see {@link PERMANENT_500}): permanent,
 *   code `model_load_failed`, with Ollama's message;
 * - a thinking call that spent its whole `num_predict` on reasoning (no answer): permanent, code `empty_answer`;
 * - timeout: retryable, code `timeout`, "timed out after N ms";
 * - connection refused/reset: retryable, code `connection_error`;
 * - `call.signal` aborted: `name === 'AbortError'`, code `aborted`, not retryable, so callers can
 *   tell a cancel (or deadline) from a timeout.
 *
 * @example
 * const ollama = createOllamaProvider({ host: config.ollamaHost, defaultModel: config.ollamaModel, timeoutMs: config.ollamaTimeoutMs });
 * const reply = await ollama.generate({ prompt: 'Ask a follow-up question about: ...', signal });
 */
import { Ollama, type ChatResponse, type Message } from 'ollama';
import { ProviderError, errorMessage, isRetryableNetworkError, isRetryableStatus } from '../shared/errors';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';
import { abortScope, type AbortScope } from './abort-scope';

/** Options of {@link createOllamaProvider}. */
export interface OllamaProviderOptions {
  /** Ollama base URL, e.g. `http://127.0.0.1:11434` (OLLAMA_HOST). Required. */
  host: string;
  /** Model used when a call names none (OLLAMA_MODEL). Required. */
  defaultModel: string;
  /** Per-call timeout in ms when the call gives none (OLLAMA_TIMEOUT_MS). Required, > 0. */
  timeoutMs: number;
  /** The fetch used under the client. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** `keep_alive` sent with every call (OLLAMA_KEEP_ALIVE), e.g. `30m`, `-1` or seconds. Default: Ollama's own. */
  keepAlive?: string;
  /** `options.num_ctx` sent with every call (OLLAMA_NUM_CTX). Default: the model's (Ollama's) default. */
  numCtx?: number;
}

/**
 * Ollama 500 messages that mean the model cannot run on this host at all, so a retry cannot help.
 * Wording from ollama/ollama `llm/server.go` (released versions: "model requires more system
 * memory (%s) than is available (%s)") and the out-of-memory substrings of `llm/status.go`.
 */
export const PERMANENT_500 = /model requires more system memory|insufficient memory|not enough memory|out of (device )?memory|unable to load full model/i;

/**
 * `keep_alive` as Ollama's JSON decoder takes it (ollama/ollama `api/types.go`, `Duration.UnmarshalJSON`):
 * a number is seconds, a string must carry a unit, so a bare number in OLLAMA_KEEP_ALIVE is sent as a number.
 */
export function keepAliveValue(value: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/**
 * A lower bound on the tokens of a text: a tokenizer gives at least one token per
 * whitespace-separated word. Used to tell that a prompt cannot have fit the context window.
 */
export function minTokens(text: string): number {
  let n = 0;
  for (const w of text.split(/\s+/)) if (w) n++;
  return n;
}

interface CallContext {
  host: string;
  model: string;
  timeoutMs: number;
  callSignal?: AbortSignal;
  /** The call's signal: `call.signal` or its own timeout. */
  scope: AbortScope;
}

function abortedError(ctx: CallContext): ProviderError {
  const reason = ctx.callSignal?.reason;
  const why = reason === undefined ? '' : `: ${errorMessage(reason)}`;
  const err = new ProviderError('ollama', `Ollama call to model "${ctx.model}" was aborted${why}`, {
    code: 'aborted',
    retryable: false,
    cause: reason,
  });
  // Callers tell a cancel from a timeout by name, like a DOM AbortError.
  err.name = 'AbortError';
  return err;
}

function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps anything the client threw to a classified {@link ProviderError}. */
function classify(err: unknown, ctx: CallContext): ProviderError {
  if (ctx.callSignal?.aborted) return abortedError(ctx);
  if (ctx.scope.timedOut) {
    return new ProviderError('ollama', `Ollama call to model "${ctx.model}" at ${ctx.host} timed out after ${ctx.timeoutMs} ms`, {
      code: 'timeout',
      retryable: true,
      cause: err,
    });
  }
  const e = err as { name?: string; status_code?: unknown } | undefined;
  if (e?.name === 'ResponseError' && typeof e.status_code === 'number') {
    const status = e.status_code;
    const upstream = errorMessage(err);
    if (status === 404) {
      return new ProviderError(
        'ollama',
        `Ollama at ${ctx.host} has no model "${ctx.model}" (${upstream}); pull it on the worker host with \`ollama pull ${ctx.model}\` or set OLLAMA_MODEL to an installed model`,
        { code: 'model_not_found', retryable: false, status, cause: err },
      );
    }
    if (status === 500 && PERMANENT_500.test(upstream)) {
      return new ProviderError(
        'ollama',
        `Ollama at ${ctx.host} cannot load model "${ctx.model}": ${upstream}. Use a smaller model (or quantisation), lower OLLAMA_NUM_CTX, or free memory on that host`,
        { code: 'model_load_failed', retryable: false, status, cause: err },
      );
    }
    const retryable = isRetryableStatus(status);
    const code = status === 429 ? 'throttled' : retryable ? 'upstream_unavailable' : status === 400 ? 'invalid_request' : 'upstream_error';
    return new ProviderError('ollama', `Ollama answered ${status} for model "${ctx.model}": ${upstream}`, { code, retryable, status, cause: err });
  }
  if (err instanceof SyntaxError) {
    return new ProviderError('ollama', `Ollama at ${ctx.host} answered with a body that is not JSON: ${err.message}`, {
      code: 'bad_response',
      retryable: true,
      cause: err,
    });
  }
  if (isRetryableNetworkError(err) || (err instanceof TypeError && err.message === 'fetch failed')) {
    const code = networkCode(err);
    return new ProviderError('ollama', `cannot reach Ollama at ${ctx.host}${code ? ` (${code})` : ''}: is \`ollama serve\` running? ${errorMessage(err)}`, {
      code: 'connection_error',
      retryable: true,
      cause: err,
    });
  }
  return new ProviderError('ollama', `Ollama call to model "${ctx.model}" failed: ${errorMessage(err)}`, {
    code: 'upstream_error',
    retryable: true,
    cause: err,
  });
}

/**
 * Builds the Ollama {@link LlmProvider}. Throws a TypeError when a required option is missing.
 */
export function createOllamaProvider(opts: OllamaProviderOptions): LlmProvider {
  const { host, defaultModel, timeoutMs, numCtx } = opts;
  const keepAlive = opts.keepAlive === undefined ? undefined : keepAliveValue(opts.keepAlive);
  if (!host) throw new TypeError('createOllamaProvider: host is required');
  if (!defaultModel) throw new TypeError('createOllamaProvider: defaultModel is required');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createOllamaProvider: timeoutMs must be > 0');
  const fetchImpl = opts.fetch ?? globalThis.fetch;

  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const ctx: CallContext = {
        host,
        model: call.model || defaultModel,
        timeoutMs: call.timeoutMs ?? timeoutMs,
        callSignal: call.signal,
        scope: abortScope([call.signal], call.timeoutMs ?? timeoutMs),
      };
      try {
        return await chat(ctx, call);
      } finally {
        ctx.scope.dispose();
      }
    },
  };

  async function chat(ctx: CallContext, call: LlmCall): Promise<LlmReply> {
    if (call.signal?.aborted) throw abortedError(ctx);
    const signal = ctx.scope.signal;
    const client = new Ollama({ host, fetch: (input, init) => fetchImpl(input, { ...init, signal }) });

    const messages: Message[] = [];
    if (call.system) messages.push({ role: 'system', content: call.system });
    for (const turn of call.history ?? []) messages.push({ role: turn.role, content: turn.content });
    messages.push({ role: 'user', content: call.prompt });
    const options: { temperature?: number; num_predict?: number; num_ctx?: number } = {};
    if (call.temperature !== undefined) options.temperature = call.temperature;
    if (call.maxTokens !== undefined) options.num_predict = call.maxTokens;
    if (numCtx !== undefined) options.num_ctx = numCtx;
    const think = call.think === true;

    const startedAt = performance.now();
    let res: ChatResponse;
    try {
      res = await client.chat({
        model: ctx.model, messages, stream: false, options, think, ...(keepAlive === undefined ? {} : { keep_alive: keepAlive }),
      });
    } catch (err) {
      throw classify(err, ctx);
    }
    const text = res.message?.content ?? '';
    const thinking = res.message?.thinking ?? '';
    const stopReason = res.done_reason || 'stop';
    if (think && text.trim() === '' && thinking !== '') {
      throw new ProviderError(
        'ollama',
        `Ollama model "${ctx.model}" spent its whole output budget (${res.eval_count ?? '?'} tokens, done_reason "${stopReason}") thinking and gave no answer; raise maxTokens or turn thinking off for this conversation`,
        { code: 'empty_answer', retryable: false },
      );
    }
    const inputTokens = res.prompt_eval_count ?? 0;
    const reply: LlmReply = {
      text, model: res.model || ctx.model, inputTokens, outputTokens: res.eval_count ?? 0, stopReason,
      latencyMs: Math.round(performance.now() - startedAt),
    };
    if (think && thinking !== '') reply.thinking = thinking;
    if (numCtx !== undefined && promptCut(messages, inputTokens, numCtx)) reply.promptTruncated = true;
    return reply;
  }
}

/**
 * Whether Ollama cut the prompt: it drops the oldest messages (then the start of the last one)
 * until the prompt fits `num_ctx`, and says nothing. `prompt_eval_count` cannot be compared with
 * the prompt's size directly (a prompt-cache hit evaluates fewer tokens), so: the prompt has more
 * words than the window holds tokens, or the evaluated prompt filled the window.
 */
function promptCut(messages: Message[], promptEvalCount: number, numCtx: number): boolean {
  const atLeast = messages.reduce((n, m) => n + minTokens(m.content), 0);
  return atLeast > numCtx || promptEvalCount >= numCtx;
}
