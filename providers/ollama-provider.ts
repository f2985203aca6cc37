/**
 * The local side of a conversation: an {@link LlmProvider} backed by Ollama through the official
 * `ollama` client (`chat`, non-streaming).
 *
 * Cancellation: ollama-js's `abort()` aborts every streamed request of a client and non-streaming
 * calls take no signal at all, so each call gets its own client whose `fetch` carries an AbortSignal
 * combining `call.signal` and the call timeout (`abortScope`, freed when the call ends). Aborting really
 * closes the socket (the request does not run on after the job gave up).
 *
 * Every call sends `keep_alive` (so the model stays loaded between turns) and `think`: false unless
 * the call asks for thinking (current Ollama turns thinking on by default for models that can
 * think, and the reasoning then eats `num_predict`), except for a model whose thinking takes only
 * levels (gpt-oss: `true`/`false` are ignored, ollama/ollama#11751): it gets `"low"`, the least
 * thinking it can do. The reasoning of a thinking call comes back in `reply.thinking`, never in
 * `reply.text`.
 *
 * An answer spent on reasoning (no text, `done_reason: "length"`, some `thinking`): a model with
 * levels that was not already at `"low"` is asked once more at `"low"`; otherwise the reply comes
 * back empty with `truncated: true` and `reasoningTokens`, and the conversation ends `empty_answer`
 * (conversation/turn-rules.ts), never sending an empty follow-up on. The reply's token counts add
 * both attempts.
 *
 * Context (never cut silently): the provider asks the server once per model (`/api/version`,
 * `/api/show`, cached for `factsTtlMs`) and per call (`/api/ps`, the loaded context) and sends the
 * `options.num_ctx` the prompt needs (providers/ollama-context.ts: estimated, grown in powers of
 * two, never above the model's trained context, OLLAMA_NUM_CTX when configured), and
 * `truncate: false` where the server takes it (v0.12.6+): a prompt that still does not fit is
 * answered 400, and the call is sent again with a larger `num_ctx`, or, when none is possible,
 * with truncation allowed and the reply marked. `reply.truncated` (and `reply.promptTruncated`,
 * which says the cut was the prompt's) is set when the prompt did not fit (that 400, or
 * `prompt_eval_count` below the prompt's word count on a server that cannot refuse), and when the
 * answer stopped at `num_predict` (`done_reason: "length"`).
 *
 * Errors are {@link ProviderError}s with `provider: 'ollama'`:
 * - 404 (unknown model): permanent, code `model_not_found`, the message names the model and `ollama pull <model>`;
 * - 400 and other 4xx: permanent; 408/429/5xx: retryable (see `isRetryableStatus`), except the 500s
 *   that no retry can fix (the model does not fit in memory, see {@link PERMANENT_500}): permanent,
 *   code `model_load_failed`, with Ollama's message;
 * - timeout: retryable, code `timeout`, "timed out after N ms";
 * - connection refused/reset: retryable, code `connection_error`;
 * - `call.signal` aborted: `name === 'AbortError'`, code `aborted`, not retryable, so callers can
 *   tell a cancel (or deadline) from a timeout.
 *
 * @example
 * const ollama = createOllamaProvider({ host: config.ollamaHost, defaultModel: config.ollamaModel, timeoutMs: config.ollamaTimeoutMs });
 * const reply = await ollama.generate({ prompt: 'Ask a follow-up question about: ...', signal });
 */
import { Ollama, type ChatRequest, type ChatResponse, type Message } from 'ollama';
import { ProviderError, errorMessage, isRetryableNetworkError, isRetryableStatus } from '../shared/errors';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';
import { abortScope, type AbortScope } from './abort-scope';
import { chooseNumCtx, CONTEXT_EXCEEDED, contextNeeded, contextStep, promptWasCut } from './ollama-context';
import {
  ollamaModelFacts,
  ollamaRunningContext,
  ollamaVersion,
  smallestDefaultContext,
  supportsTruncateFlag,
  type OllamaModelFacts,
} from './ollama-probe';

export { minTokens } from './ollama-context';

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
  /** `options.num_ctx` sent with every call (OLLAMA_NUM_CTX), as the operator's override. Default: sized per call from what the server says. */
  numCtx?: number;
  /** How long the server's version and a model's `/api/show` facts are kept, ms. Default 300000. */
  factsTtlMs?: number;
}

/**
 * Ollama 500 messages that mean the model cannot run on this host at all, so a retry cannot help.
 * Wording from ollama/ollama `llm/server.go` (released versions: "model requires more system
 * memory (%s) than is available (%s)") and the out-of-memory substrings of `llm/status.go`.
 */
export const PERMANENT_500 =
  /model requires more system memory|insufficient memory|not enough memory|out of (device )?memory|unable to load full model/i;

/**
 * `keep_alive` as Ollama's JSON decoder takes it (ollama/ollama `api/types.go`, `Duration.UnmarshalJSON`):
 * a number is seconds, a string must carry a unit, so a bare number in OLLAMA_KEEP_ALIVE is sent as a number.
 */
export function keepAliveValue(value: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
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
    return new ProviderError('ollama', `Ollama answered ${status} for model "${ctx.model}": ${upstream}`, {
      code,
      retryable,
      status,
      cause: err,
    });
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
    return new ProviderError(
      'ollama',
      `cannot reach Ollama at ${ctx.host}${code ? ` (${code})` : ''}: is \`ollama serve\` running? ${errorMessage(err)}`,
      {
        code: 'connection_error',
        retryable: true,
        cause: err,
      },
    );
  }
  return new ProviderError('ollama', `Ollama call to model "${ctx.model}" failed: ${errorMessage(err)}`, {
    code: 'upstream_error',
    retryable: true,
    cause: err,
  });
}

/** What one server said of itself and of a model (either may be unknown: the questions failed). */
interface ServerFacts {
  at: number;
  version?: string;
  model?: OllamaModelFacts;
}

/** The think value for a call: the call's wish, or for a model that cannot stop thinking its lowest level. */
type ThinkValue = NonNullable<ChatRequest['think']>;

/** Calls one provider call may make at most: the first, a larger context or an allowed cut, the retry at "low". */
const MAX_SENDS = 5;

/** Builds the Ollama {@link LlmProvider}. Throws a TypeError when a required option is missing. */
export function createOllamaProvider(opts: OllamaProviderOptions): LlmProvider {
  const { host, defaultModel, timeoutMs, numCtx: explicitCtx } = opts;
  const keepAlive = opts.keepAlive === undefined ? undefined : keepAliveValue(opts.keepAlive);
  if (!host) throw new TypeError('createOllamaProvider: host is required');
  if (!defaultModel) throw new TypeError('createOllamaProvider: defaultModel is required');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createOllamaProvider: timeoutMs must be > 0');
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const factsTtlMs = opts.factsTtlMs ?? 300_000;
  const facts = new Map<string, Promise<ServerFacts>>();
  /** The largest num_ctx sent per model: kept, so the model is not reloaded to a smaller one. */
  const sentCtx = new Map<string, number>();

  /**
   * The server's version and the model's facts, asked once per `factsTtlMs`. A question that failed
   * leaves its fact unknown for this call and is asked again by the next one (never cached).
   */
  async function factsOf(model: string, probeMs: number): Promise<ServerFacts> {
    const cached = facts.get(model);
    if (cached) {
      const f = await cached;
      if (Date.now() - f.at < factsTtlMs && f.version !== undefined && f.model !== undefined) return f;
    }
    const ask = { timeoutMs: probeMs, fetch: fetchImpl };
    const fresh = Promise.all([
      ollamaVersion(host, ask).catch(() => undefined),
      ollamaModelFacts(host, model, ask).catch(() => undefined),
    ]).then(([version, m]) => ({ at: Date.now(), version, model: m }));
    facts.set(model, fresh);
    return fresh;
  }

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
    const numPredict = call.maxTokens;
    const startedAt = performance.now();

    // What the server can do, and what the model is (each question bounded; unknown on failure).
    const probeMs = Math.max(1, Math.min(5000, ctx.timeoutMs));
    const server = await factsOf(ctx.model, probeMs);
    if (call.signal?.aborted) throw abortedError(ctx);
    const levelsOnly = server.model ? server.model.thinking && server.model.thinkLevelsOnly : /(^|\/)gpt-oss/i.test(ctx.model);
    const canRefuse = supportsTruncateFlag(server.version);
    const modelMax = server.model?.contextLength;
    // The loaded context, asked on every call (another worker may have reloaded the model); the call's own signal bounds it too.
    const psFetch: typeof fetch = (input, init) =>
      fetchImpl(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    const running =
      explicitCtx === undefined
        ? await ollamaRunningContext(host, ctx.model, { timeoutMs: probeMs, fetch: psFetch }).catch(() => undefined)
        : undefined;
    if (call.signal?.aborted) throw abortedError(ctx);
    const need = contextNeeded(messages, numPredict);
    let numCtx = chooseNumCtx(need, {
      explicit: explicitCtx,
      modelMax,
      running,
      sent: sentCtx.get(ctx.model),
      assumedDefault: smallestDefaultContext(server.version),
    });

    let think: ThinkValue = call.think === true ? true : levelsOnly ? 'low' : false;
    let allowCut = !canRefuse;
    let cutKnown = false;
    let spent = { input: 0, output: 0 };
    let res: ChatResponse | undefined;
    for (let sends = 0; sends < MAX_SENDS; sends++) {
      const options: { temperature?: number; num_predict?: number; num_ctx?: number } = {};
      if (call.temperature !== undefined) options.temperature = call.temperature;
      if (numPredict !== undefined) options.num_predict = numPredict;
      if (numCtx !== undefined) options.num_ctx = numCtx;
      if (numCtx !== undefined && explicitCtx === undefined) sentCtx.set(ctx.model, Math.max(numCtx, sentCtx.get(ctx.model) ?? 0));
      const request: ChatRequest & { truncate?: boolean } = {
        model: ctx.model,
        messages,
        stream: false,
        options,
        think,
        ...(keepAlive === undefined ? {} : { keep_alive: keepAlive }),
        ...(allowCut ? {} : { truncate: false }),
      };
      try {
        res = await client.chat(request as ChatRequest & { stream: false });
      } catch (err) {
        res = undefined;
        const e = classify(err, ctx);
        if (e.status !== 400 || !CONTEXT_EXCEEDED.test(e.message) || allowCut) throw e;
        // The prompt does not fit the context it was given: a larger one if the model has it, else let Ollama cut and say so.
        const window = numCtx ?? running ?? smallestDefaultContext(server.version);
        const larger =
          explicitCtx === undefined ? Math.min(contextStep(Math.max(need, window * 2)), modelMax ?? Number.POSITIVE_INFINITY) : window;
        if (larger > window) numCtx = larger;
        else {
          allowCut = true;
          cutKnown = true;
        }
        continue;
      }
      const text = res.message?.content ?? '';
      const reasoning = res.message?.thinking ?? '';
      // All of num_predict went to reasoning: a model with levels gets one more go at its lowest.
      if (text.trim() === '' && reasoning !== '' && res.done_reason === 'length' && levelsOnly && think !== 'low') {
        spent = { input: spent.input + (res.prompt_eval_count ?? 0), output: spent.output + (res.eval_count ?? 0) };
        think = 'low';
        continue;
      }
      break;
    }
    if (!res) {
      throw new ProviderError(
        'ollama',
        `Ollama model "${ctx.model}" refused the prompt as longer than its context ${MAX_SENDS} times; lower contextTurns or set OLLAMA_NUM_CTX`,
        { code: 'invalid_request', retryable: false, status: 400 },
      );
    }

    const text = res.message?.content ?? '';
    const thinking = res.message?.thinking ?? '';
    const stopReason = res.done_reason || 'stop';
    const inputTokens = res.prompt_eval_count ?? 0;
    const outputTokens = res.eval_count ?? 0;
    const reply: LlmReply = {
      text,
      model: res.model || ctx.model,
      inputTokens: inputTokens + spent.input,
      outputTokens: outputTokens + spent.output,
      stopReason,
      latencyMs: Math.round(performance.now() - startedAt),
    };
    if (call.think === true && thinking !== '') reply.thinking = thinking;
    // Every token of an answer with no text went to reasoning (an earlier attempt was all reasoning too); otherwise Ollama does not say how many did.
    if (thinking !== '' && text.trim() === '') reply.reasoningTokens = outputTokens + spent.output;
    if (cutKnown || promptWasCut(messages, res.prompt_eval_count, numCtx ?? running)) {
      reply.promptTruncated = true;
      reply.truncated = true;
    }
    if (stopReason === 'length') reply.truncated = true;
    // What prefix reuse is observable as (ollama/ollama at fb30760, 2026-08-21, read 2026-12-04):
    // llm/llama_server.go sends `cache_prompt: true` to llama-server and answers
    // `prompt_eval_count` = timings.cache_n + timings.prompt_n (the whole prompt, reused or not:
    // "to preserve Ollama's pre-0.30 full-context prompt_eval_count semantics", #16428) and
    // `prompt_eval_duration` = timings.prompt_ms (the tokens evaluated now only); cache_n itself is
    // not passed on (api/types.go `Metrics`). The duration is what is recorded.
    if (typeof res.prompt_eval_duration === 'number' && res.prompt_eval_duration > 0)
      reply.promptEvalMs = Math.round(res.prompt_eval_duration / 1e4) / 100;
    return reply;
  }
}
