/**
 * The cloud side of a conversation: an {@link LlmProvider} that POSTs a base64 protobuf
 * `LlmRequest` to API Gateway (which runs the Lambda that calls Bedrock) with axios.
 *
 * Wire: body = base64 text of the `LlmRequest`, `Content-Type: application/x-protobuf`,
 * `Accept: application/x-protobuf`. The reply is read whether it arrives as raw protobuf bytes
 * (API Gateway decoded the Lambda's base64: HTTP API, or REST with binary media types) or as
 * base64 text (REST without binary media types).
 *
 * With `envelope: 'seed'` (API_GATEWAY_ENVELOPE=seed) it speaks the original system's envelope
 * instead, to call a deployed seed Lambda (non-proxy integration) or ours: the JSON
 * `{"queryStringParameters":{"query":<base64>},"requestContext":{"requestId":<uuid>}}` in, the JSON
 * `{"statusCode","headers","body":<base64>}` out (providers/seed-envelope.ts). The envelope's
 * `statusCode` counts, not HTTP's: 400 permanent (unless the text is an AWS SDK throttle/5xx),
 * 500 retryable, others as below; its plain-text `body` is the message. The seed Lambda reads only
 * `input_text` and `parameters` and answers only `output_text`/`tokens`: history, system prompt and
 * model id are sent but ignored there, token counts come back 0.
 *
 * Errors are {@link ProviderError}s with `provider: 'api-gateway'`:
 * - non-2xx: `status` set; message and code from the Lambda's protobuf error detail, a JSON
 *   `{error:{code,message}}` or API Gateway's own `{message}`; `retryable` from the Lambda's
 *   detail when present, else {@link isRetryableStatus} (429, 5xx retryable; other 4xx permanent);
 * - API Gateway's own answers (no Lambda detail; `x-amzn-ErrorType` and `{"message"}`) each get
 *   their own code, retry policy and a hint naming the setting to fix ({@link gatewayOwnError}):
 *   `gateway_route_not_found`, `gateway_forbidden`, `gateway_signature_rejected`,
 *   `gateway_quota_exceeded` (permanent: a usage-plan quota lasts its period), `gateway_throttled`,
 *   `gateway_timeout`, `lambda_failed`;
 * - a 2xx body that is not an `LlmResponse`: permanent, code `invalid_protobuf`;
 * - timeout: retryable, code `timeout`; connection refused/reset: retryable, code `connection_error`;
 * - `call.signal` aborted: `name === 'AbortError'`, code `aborted`, not retryable.
 *
 * @example
 * const cloud = createApiGatewayClient({ url: config.apiGatewayUrl, apiKey: config.apiGatewayApiKey, timeoutMs: config.apiGatewayTimeoutMs });
 * const reply = await cloud.generate({ prompt: 'What is a stream?', signal });
 */
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { protobufBytesOf } from '../proto/base64-body';
import { decodeResponse, encodeRequestBase64, fromBase64, type LlmRequest, type LlmResponse } from '../proto/codec';
import { ProviderError, errorMessage, isRetryableNetworkError, isRetryableStatus } from '../shared/errors';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';
import { abortScope, type AbortScope } from './abort-scope';
import { lambdaFunctionError, parseSeedReply, seedErrorRetryable, seedRequestBody } from './seed-envelope';
import { createSigV4Signer } from './sigv4-signer';
import { traceHeaders } from '../shared/tracing';

const PROTOBUF = 'application/x-protobuf';

/**
 * Converse stop reasons of an answer that is not whole: the output cap, or the model's context
 * window (SDK 3.1163 `StopReason` enum: end_turn, tool_use, max_tokens, stop_sequence,
 * guardrail_intervened, content_filtered, malformed_model_output, malformed_tool_use,
 * model_context_window_exceeded).
 */
export const TRUNCATING_STOPS: ReadonlySet<string> = new Set(['max_tokens', 'model_context_window_exceeded']);
/** Largest reply accepted, in bytes (API Gateway's own payload limit is 10 MB). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Options of {@link createApiGatewayClient}. */
export interface ApiGatewayClientOptions {
  /** The API Gateway URL that fronts the Lambda (API_GATEWAY_URL). Required. */
  url: string;
  /** Sent as `x-api-key` when set (API_GATEWAY_API_KEY). Default none. */
  apiKey?: string;
  /** Sign with SigV4 (service `execute-api`) for IAM-protected APIs. Default: not signed. */
  sigv4?: { region: string; credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider };
  /** Per-call timeout in ms when the call gives none (API_GATEWAY_TIMEOUT_MS). Required, > 0. */
  timeoutMs: number;
  /** Model id sent when a call names none. Default none: the Lambda's BEDROCK_MODEL_ID. */
  defaultModel?: string;
  /**
   * The axios instance to send with. Default: one made for this client (POST, protobuf headers,
   * `x-api-key`, raw bytes in and out, no redirects, every status read). Either way the client
   * adds its interceptors: SigV4 signing, the answer check and the error classification.
   */
  axios?: AxiosInstance;
  /** Wire envelope (API_GATEWAY_ENVELOPE): `proxy` (default, base64 protobuf body) or `seed` (the seed's JSON). */
  envelope?: 'proxy' | 'seed';
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** The cloud call a request belongs to: its interceptors read it. */
    cloudCall?: CallContext;
  }
}

/**
 * One cloud call, as its interceptors see it. A class, not a plain object: axios deep-copies plain
 * objects in a request's config, and the interceptors must read the live scope (timed out or not).
 */
class CallContext {
  constructor(
    readonly url: string,
    readonly model: string,
    readonly timeoutMs: number,
    readonly callSignal: AbortSignal | undefined,
    /** The call's signal: `call.signal` or its own timeout. */
    readonly scope: AbortScope,
    /** The wire envelope of the answer. */
    readonly seed: boolean,
    /** Whether an `x-api-key` and a SigV4 signature are sent (named in the hints). */
    readonly apiKeySent = false,
    readonly signed = false,
  ) {}
}

function abortedError(ctx: CallContext): ProviderError {
  const reason = ctx.callSignal?.reason;
  const why = reason === undefined ? '' : `: ${errorMessage(reason)}`;
  const err = new ProviderError('api-gateway', `cloud call to ${ctx.url} was aborted${why}`, {
    code: 'aborted',
    retryable: false,
    cause: reason,
  });
  // Callers tell a cancel (or deadline) from a timeout by name, like a DOM AbortError.
  err.name = 'AbortError';
  return err;
}

/** Maps what axios threw (no HTTP answer) to a classified {@link ProviderError}. */
function classifyThrown(err: unknown, ctx: CallContext): ProviderError {
  if (ctx.callSignal?.aborted) return abortedError(ctx);
  if (ctx.scope.timedOut) {
    return new ProviderError(
      'api-gateway',
      `cloud call to ${ctx.url} timed out after ${ctx.timeoutMs} ms (API_GATEWAY_TIMEOUT_MS, by default GATEWAY_TIMEOUT_MS + 1 s; or the time left before the conversation's deadline)`,
      { code: 'timeout', retryable: true, cause: err },
    );
  }
  if (err instanceof ProviderError) return err;
  const code = (err as { code?: unknown })?.code;
  if (isRetryableNetworkError(err) || code === 'ERR_NETWORK' || code === 'ECONNABORTED') {
    return new ProviderError(
      'api-gateway',
      `cannot reach API Gateway at ${ctx.url}${typeof code === 'string' ? ` (${code})` : ''}: ${errorMessage(err)}`,
      {
        code: 'connection_error',
        retryable: true,
        cause: err,
      },
    );
  }
  return new ProviderError('api-gateway', `cloud call to ${ctx.url} failed: ${errorMessage(err)}`, {
    code: 'request_failed',
    retryable: false,
    cause: err,
  });
}

/**
 * Decodes a reply body (raw protobuf or base64 text); undefined when it is neither. Protobuf
 * decoding skips unknown fields, so arbitrary bytes can decode to an empty message: a message
 * without any field we know is treated as undecodable too.
 */
function tryDecode(bytes: Buffer): LlmResponse | undefined {
  if (bytes.length === 0) return undefined;
  try {
    const res = decodeResponse(protobufBytesOf(bytes));
    const known = res.outputText || res.modelId || res.error || res.tokens?.length || res.stopReason;
    return known ? res : undefined;
  } catch {
    return undefined;
  }
}

function headerOf(res: AxiosResponse, name: string): string {
  const v = (res.headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

/** What a non-2xx body says: the Lambda's error detail, a JSON error, or API Gateway's `{message}`. */
function errorInfo(res: AxiosResponse, bytes: Buffer): { code?: string; message?: string; retryable?: boolean } {
  const type = headerOf(res, 'content-type').toLowerCase();
  if (type.includes('json')) {
    try {
      const json = JSON.parse(bytes.toString('utf8')) as {
        error?: { code?: unknown; message?: unknown; retryable?: unknown };
        message?: unknown;
        Message?: unknown;
      };
      const e = json.error;
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return {
        code: str(e?.code),
        message: str(e?.message) ?? str(json.message) ?? str(json.Message),
        retryable: typeof e?.retryable === 'boolean' ? e.retryable : undefined,
      };
    } catch {
      return {};
    }
  }
  const decoded = tryDecode(bytes);
  // proto3 does not send a false bool: with a detail present, an unset `retryable` means permanent.
  if (decoded?.error) return { code: decoded.error.code, message: decoded.error.message, retryable: decoded.error.retryable === true };
  return {};
}

interface GatewayOwnError {
  code: string;
  retryable: boolean;
  hint: string;
}

/**
 * API Gateway's own answer (the request never reached the Lambda, or the Lambda gave none): what
 * it means and which setting fixes it. Sources (read 2026-12-02): API Gateway's "Gateway response
 * types" (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
 * the `x-amzn-ErrorType` values as localstack/localstack reproduces them
 * (services/apigateway/next_gen/execute_api/gateway_response.py, 2026-03-23), re:Post
 * knowledge-center "api-gateway-429-limit" ("Limit Exceeded" is the usage plan's quota, "Too Many
 * Requests" its throttle). Undefined for an answer that is not one of them.
 */
export function gatewayOwnError(
  status: number,
  errorType: string,
  message: string,
  ctx: { url: string; apiKeySent: boolean; signed: boolean },
): GatewayOwnError | undefined {
  const is = (type: string, text: string) => errorType === type || (errorType === '' && message === text);
  if (status === 403 && is('MissingAuthenticationTokenException', 'Missing Authentication Token')) {
    return {
      code: 'gateway_route_not_found',
      retryable: false,
      hint: `no deployed POST method matches ${ctx.url}: check API_GATEWAY_URL's stage and path (the stack output ApiGatewayUrl, https://<api id>.execute-api.<region>.amazonaws.com/<StageName>/generate)${ctx.signed ? '' : '; an IAM-protected API (AuthMode=IAM) answers this to an unsigned call too: set API_GATEWAY_SIGV4=true'}`,
    };
  }
  if (status === 403 && is('ForbiddenException', 'Forbidden')) {
    return {
      code: 'gateway_forbidden',
      retryable: false,
      hint: ctx.apiKeySent
        ? `the API key sent (API_GATEWAY_API_KEY) is not a valid key of this API's usage plan: set it to the stack's key (aws apigateway get-api-key --api-key <ApiKeyId> --include-value)`
        : `the API requires an API key: set API_GATEWAY_API_KEY to the stack's key (aws apigateway get-api-key --api-key <ApiKeyId> --include-value)`,
    };
  }
  if (status === 403 && /Signature|UnrecognizedClient|security token|AccessDenied/i.test(`${errorType} ${message}`)) {
    return {
      code: 'gateway_signature_rejected',
      retryable: false,
      hint: `API Gateway refused the SigV4 signature (API_GATEWAY_SIGV4): check the worker's AWS credentials, AWS_REGION (the API's region) and that its role may execute-api:Invoke (the stack's FleetInvokePolicy)`,
    };
  }
  if (status === 429 && is('LimitExceededException', 'Limit Exceeded')) {
    return {
      code: 'gateway_quota_exceeded',
      retryable: false,
      hint: `the usage plan's request quota for API_GATEWAY_API_KEY is used up and stays so until the plan's period (day, week or month) resets: raise the usage plan's quota or wait for the next period`,
    };
  }
  if (status === 429 && is('TooManyRequestsException', 'Too Many Requests')) {
    return {
      code: 'gateway_throttled',
      retryable: true,
      hint: `over the stage's or usage plan's rate/burst limit (the template's ThrottleRateLimit, ThrottleBurstLimit): lower CLOUD_CONCURRENCY or CLOUD_RATE_LIMIT_MAX, or raise the limits`,
    };
  }
  if (status === 504 && /Endpoint request timed out/i.test(message)) {
    return {
      code: 'gateway_timeout',
      retryable: true,
      hint: `API Gateway's integration timeout cut the call: raise GATEWAY_TIMEOUT_MS (the template's GatewayTimeoutSeconds; above 29 s needs the quota increase) or lower maxTokens`,
    };
  }
  if (status === 502 && /Internal server error/i.test(message)) {
    return {
      code: 'lambda_failed',
      retryable: true,
      hint: `the Lambda crashed or ran past its Timeout before answering (its CloudWatch log says "Task timed out after ..." for a timeout): read the function's log; its Timeout follows GATEWAY_TIMEOUT_MS (the template's GatewayTimeoutSeconds)`,
    };
  }
  return undefined;
}

/** The one check of every API Gateway answer: throws a classified error unless it is a usable reply. */
function checkOk(res: AxiosResponse, ctx: CallContext): LlmResponse {
  const bytes = Buffer.from(res.data as ArrayBuffer);
  const status = res.status;
  if (status < 200 || status >= 300) {
    const info = errorInfo(res, bytes);
    const snippet = bytes.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim();
    const message = info.message ?? (snippet || res.statusText || 'no body');
    const amznType = headerOf(res, 'x-amzn-errortype').split(':')[0] ?? '';
    const own =
      info.code === undefined
        ? gatewayOwnError(status, amznType, message, { url: ctx.url, apiKeySent: ctx.apiKeySent, signed: ctx.signed })
        : undefined;
    if (own) {
      throw new ProviderError('api-gateway', `API Gateway answered ${status}: ${message} (${own.hint})`, {
        status,
        code: own.code,
        retryable: own.retryable,
        details: { url: ctx.url, errorType: amznType || undefined, requestId: headerOf(res, 'x-amzn-requestid') || undefined },
      });
    }
    throw new ProviderError('api-gateway', `API Gateway answered ${status}: ${message}`, {
      status,
      code: info.code ?? (amznType || `http_${status}`),
      retryable: info.retryable ?? isRetryableStatus(status),
      details: { url: ctx.url, requestId: headerOf(res, 'x-amzn-requestid') || undefined },
    });
  }
  const decoded = tryDecode(bytes);
  if (!decoded) {
    const hint =
      parseSeedReply(bytes) || lambdaFunctionError(bytes) !== undefined
        ? ": the answer is JSON as from a Lambda behind a non-proxy integration (the seed's); set API_GATEWAY_ENVELOPE=seed"
        : '';
    throw new ProviderError(
      'api-gateway',
      `API Gateway answered ${status} with a body that is not a protobuf LlmResponse (raw or base64, ${bytes.length} bytes)${hint}`,
      {
        status,
        code: 'invalid_protobuf',
        retryable: false,
      },
    );
  }
  if (decoded.error) {
    const e = decoded.error;
    throw new ProviderError('api-gateway', `Lambda reported ${e.code || 'an error'}: ${e.message}`, {
      status: e.status || status,
      code: e.code || 'upstream_error',
      retryable: e.retryable === true,
    });
  }
  return decoded;
}

/**
 * The check of an answer in the seed's envelope: the envelope's `statusCode` and `body` decide;
 * an answer without the envelope is API Gateway's own (checked as usual) or Lambda's function error.
 */
function checkSeedOk(res: AxiosResponse, ctx: CallContext): LlmResponse {
  const bytes = Buffer.from(res.data as ArrayBuffer);
  const reply = parseSeedReply(bytes);
  if (!reply) {
    if (res.status < 200 || res.status >= 300) return checkOk(res, ctx);
    const crashed = lambdaFunctionError(bytes);
    if (crashed !== undefined) {
      throw new ProviderError('api-gateway', `the Lambda failed: ${crashed}`, {
        status: 502,
        code: 'lambda_error',
        retryable: true,
        details: { url: ctx.url },
      });
    }
    const snippet = bytes.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim();
    throw new ProviderError(
      'api-gateway',
      `API Gateway answered ${res.status} without the seed's JSON envelope {statusCode, body} (API_GATEWAY_ENVELOPE=seed): ${snippet || 'empty body'}`,
      {
        status: res.status,
        code: 'invalid_envelope',
        retryable: false,
      },
    );
  }
  const status = reply.statusCode;
  if (status < 200 || status >= 300) {
    throw new ProviderError('api-gateway', `Lambda answered ${status}: ${reply.body || 'no body'}`, {
      status,
      code: `http_${status}`,
      retryable: seedErrorRetryable(status, reply.body, isRetryableStatus),
      details: { url: ctx.url, requestId: typeof reply.headers?.['X-Request-ID'] === 'string' ? reply.headers['X-Request-ID'] : undefined },
    });
  }
  // Unlike a bare body, an empty message is a real answer here: the seed encodes an empty
  // (trimmed) completion as zero bytes, `body: ""`. It passes on as empty text, as in `proxy` mode.
  let decoded: LlmResponse | undefined;
  try {
    decoded = decodeResponse(fromBase64(reply.body));
  } catch {
    decoded = undefined;
  }
  if (!decoded) {
    throw new ProviderError(
      'api-gateway',
      `Lambda answered ${status} with a body that is not base64 of a protobuf LlmResponse (${reply.body.length} characters)`,
      {
        status,
        code: 'invalid_protobuf',
        retryable: false,
      },
    );
  }
  if (decoded.error) {
    const e = decoded.error;
    throw new ProviderError('api-gateway', `Lambda reported ${e.code || 'an error'}: ${e.message}`, {
      status: e.status || status,
      code: e.code || 'upstream_error',
      retryable: e.retryable === true,
    });
  }
  return decoded;
}

/**
 * Builds the cloud {@link LlmProvider}. Throws a TypeError when a required option is missing.
 */
export function createApiGatewayClient(opts: ApiGatewayClientOptions): LlmProvider {
  const { url, timeoutMs } = opts;
  if (!url) throw new TypeError('createApiGatewayClient: url is required');
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError('createApiGatewayClient: url must be http(s)');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createApiGatewayClient: timeoutMs must be > 0');
  const seed = opts.envelope === 'seed';
  const http =
    opts.axios ??
    axios.create({
      method: 'post',
      // The seed's client sends its JSON as application/x-protobuf too; a non-proxy API keys its
      // passthrough on the content type, so the same one is sent.
      headers: {
        'content-type': PROTOBUF,
        accept: seed ? 'application/json' : PROTOBUF,
        ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}),
      },
      responseType: 'arraybuffer',
      // Every answer is read: API Gateway and the Lambda put the reason of a failure in the body.
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: MAX_REPLY_BYTES,
      // The body is already the exact bytes to send (and to sign): no transformation.
      transformRequest: [(data: unknown) => data],
    });
  if (opts.sigv4) {
    const signer = createSigV4Signer({ region: opts.sigv4.region, credentials: opts.sigv4.credentials });
    // Signs last, over the final headers and body of the request.
    http.interceptors.request.use(async (config: InternalAxiosRequestConfig) => {
      const headers = Object.fromEntries(Object.entries(config.headers.toJSON()).filter(([, v]) => typeof v === 'string')) as Record<
        string,
        string
      >;
      try {
        config.headers.set(await signer.sign({ method: 'POST', url: target, headers, body: String(config.data) }));
      } catch (err) {
        // No credentials, or the chain failed: classified like any failure before an answer.
        throw config.cloudCall ? classifyThrown(err, config.cloudCall) : err;
      }
      return config;
    });
  }
  // One check of every answer (the reply, or a classified error), then one classification of
  // everything thrown on the way (no answer, timeout, abort): callers only see ProviderErrors.
  http.interceptors.response.use(
    (res: AxiosResponse) => {
      const ctx = res.config.cloudCall;
      if (ctx) res.data = ctx.seed ? checkSeedOk(res, ctx) : checkOk(res, ctx);
      return res;
    },
    (err: unknown) => {
      const ctx = (err as { config?: InternalAxiosRequestConfig }).config?.cloudCall;
      return Promise.reject(ctx ? classifyThrown(err, ctx) : err);
    },
  );

  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const callTimeout = call.timeoutMs ?? timeoutMs;
      const ctx = new CallContext(
        url,
        call.model || opts.defaultModel || '',
        callTimeout,
        call.signal,
        abortScope([call.signal], callTimeout),
        seed,
        Boolean(opts.apiKey),
        Boolean(opts.sigv4),
      );
      try {
        return await send(ctx, call);
      } finally {
        ctx.scope.dispose();
      }
    },
  };

  async function send(ctx: CallContext, call: LlmCall): Promise<LlmReply> {
    if (call.signal?.aborted) throw abortedError(ctx);

    const parameters: Record<string, string> = {};
    if (call.temperature !== undefined) parameters.temperature = String(call.temperature);
    if (call.maxTokens !== undefined) parameters.max_tokens = String(call.maxTokens);
    const request: LlmRequest = {
      inputText: call.prompt,
      parameters,
      modelId: ctx.model || undefined,
      history: call.history?.map((t) => ({ role: t.role, content: t.content })),
      systemPrompt: call.system || undefined,
      conversationId: call.conversationId || undefined,
      turn: call.turn || undefined,
      ...(call.learnedOmissions?.[ctx.model]?.length ? { omitParameters: call.learnedOmissions[ctx.model] } : {}),
      ...(call.cache === false ? { noCache: true } : {}),
      ...(call.cacheHistory ? { cacheHistory: call.cacheHistory } : {}),
    };
    const body = seed ? seedRequestBody(encodeRequestBase64(request), randomUUID()) : encodeRequestBase64(request);
    const startedAt = performance.now();
    // The call's signal carries its timeout, cancel and deadline; the interceptors check the answer.
    // The trace context goes to the Lambda in `traceparent` (set before the SigV4 interceptor, so it is signed too).
    const { data: reply } = await http.post<LlmResponse>(url, body, { signal: ctx.scope.signal, cloudCall: ctx, headers: traceHeaders() });
    const stopReason = reply.stopReason || 'unknown';
    return {
      text: reply.outputText,
      model: reply.modelId || ctx.model || 'unknown',
      inputTokens: reply.inputTokens ?? 0,
      outputTokens: reply.outputTokens ?? 0,
      stopReason,
      latencyMs: Math.round(performance.now() - startedAt),
      ...(TRUNCATING_STOPS.has(stopReason) ? { truncated: true } : {}),
      ...(reply.reasoningTokens !== undefined
        ? { reasoningTokens: reply.reasoningTokens, reasoningTokensEstimated: reply.reasoningTokensEstimated === true }
        : {}),
      ...(reply.omittedParameters?.length ? { omittedParameters: reply.omittedParameters } : {}),
      ...(reply.rejectedParameters?.length ? { rejectedParameters: reply.rejectedParameters } : {}),
      ...(reply.cacheReadInputTokens ? { cacheReadInputTokens: reply.cacheReadInputTokens } : {}),
      ...(reply.cacheWriteInputTokens ? { cacheWriteInputTokens: reply.cacheWriteInputTokens } : {}),
    };
  }
}
