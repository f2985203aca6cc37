/**
 * The Lambda's Bedrock client: one `converse()` call over the Converse API (any model family),
 * with errors classified by {@link toBedrockProviderError}.
 *
 * @example
 * const converse = createBedrockConverse({ region: 'us-east-1', defaultModelId: 'amazon.nova-micro-v1:0' });
 * const reply = await converse({ prompt: 'Hello', history: [] });
 */
import http from 'node:http';
import https from 'node:https';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ContentBlock,
  type ConverseCommandOutput,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ValidationError } from '../shared/errors';
import { type CacheRules, SHIPPED_CATALOG, type ModelCatalog } from '../shared/model-catalog';
import { toBedrockProviderError } from './bedrock-errors';
import { NO_CACHE, planCachePoints, type CachePlan, type HistoryCache } from './cache-points';
import { isRejectableParameter, plannedOmissions, rejectedParameterOf, type RejectableParameter } from './parameter-rejection';

export interface ConverseTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ConverseRequest {
  /** Model id or inference profile; default: the client's `defaultModelId`. */
  modelId?: string;
  system?: string;
  /** Earlier messages, oldest first, alternating user/assistant, starting with user. */
  history: ConverseTurn[];
  /** The new user message. */
  prompt: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Parameters to leave out for this model (`temperature`, `top_p`, `system`), learned from earlier rejections. */
  omitParameters?: string[];
  /** Aborts the HTTP call (deadline, client gone). */
  signal?: AbortSignal;
  /**
   * Prompt-cache checkpoints (cache-points.ts). Default on for models the catalogue marks as
   * cache-capable ({@link ModelCatalog.cacheRules}); `false` sends none.
   */
  cache?: boolean;
  /** Which history checkpoints can be read later (cache-points.ts {@link HistoryCache}); default `all`. */
  cacheHistory?: HistoryCache;
}

export interface ConverseResult {
  /**
   * The answer: the text blocks only ('' when the model produced no text, see `stopReason`, e.g.
   * `content_filtered`, or `max_tokens` after reasoning used the whole budget).
   */
  text: string;
  modelId: string;
  inputTokens: number;
  outputTokens: number;
  stopReason: string;
  /** Bedrock's own latency metric when reported, else the measured round trip. */
  latencyMs: number;
  /**
   * Output tokens spent in reasoning content blocks; undefined when the answer has none (or only
   * redacted reasoning next to text: unknown). Converse's `usage` has no reasoning count (SDK
   * 3.1163 `TokenUsage`: input, output, total, cache), so it is exact only when the answer has no
   * text (every output token was reasoning), else estimated from the reasoning text.
   */
  reasoningTokens?: number;
  reasoningTokensEstimated?: boolean;
  /** Parameters left out of the call because the model rejects them (catalogue, learned, or rejected now). */
  omittedParameters: RejectableParameter[];
  /** Of those, the ones Bedrock rejected in this call (it was retried without them). */
  rejectedParameters: RejectableParameter[];
  /** Input tokens read from the prompt cache (`usage.cacheReadInputTokens`; Converse leaves them out of `inputTokens`). */
  cacheReadInputTokens: number;
  /** Input tokens written to it (`usage.cacheWriteInputTokens`; not in `inputTokens` either). */
  cacheWriteInputTokens: number;
  /** `cachePoint` blocks the request carried. */
  cacheCheckpoints: number;
}

/** One Converse call; throws `ProviderError('bedrock', ...)`. */
export type ConverseFn = (req: ConverseRequest) => Promise<ConverseResult>;

export interface BedrockConverseOptions {
  region: string;
  /**
   * Endpoint override (BEDROCK_ENDPOINT, e.g. the emulator); it wins over the SDK's own settings. Unset:
   * no `endpoint` is passed, so the SDK reads `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, then `AWS_ENDPOINT_URL`
   * (and `endpoint_url` in ~/.aws/config) itself, else the AWS endpoint for `region`
   * (test/integration/doctor.test.ts, "AWS endpoint settings").
   */
  endpoint?: string;
  defaultModelId: string;
  /**
   * The model catalogue: caps, default maxTokens, accepted parameters, and the replacement a
   * lifecycle error names (bedrock-errors.ts). Default: the shipped catalogue.
   */
  catalog?: ModelCatalog;
  /** Injected client; default: one built from the options below. */
  client?: BedrockRuntimeClient;
  /** Credentials; default: the SDK's default chain, or placeholders for a loopback endpoint. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Per-attempt request timeout in ms (default 60000; the handler's deadline is shorter). */
  requestTimeoutMs?: number;
  /** TCP connect timeout in ms (default 5000). */
  connectionTimeoutMs?: number;
  /**
   * SDK attempts per call. Default {@link BEDROCK_SDK_MAX_ATTEMPTS} (1): the worker is the one
   * retry layer, so a step costs at most JOB_ATTEMPTS billed calls and a throttle reaches the
   * worker's fleet-wide pause at once instead of spending the gateway's 29 s in SDK backoff.
   */
  maxAttempts?: number;
  /** Agent for an https:// endpoint override (e.g. one with `ca` for a private CA). Default: keep-alive agent. */
  httpsAgent?: https.Agent;
  /**
   * Transport. Default `http1` (`NodeHttpHandler`) for every endpoint, AWS's included: see
   * lambda/README.md ("HTTP/1.1 or HTTP/2") for the evidence. `http2` is the SDK's own default
   * (`NodeHttp2Handler`), kept for comparison and for an endpoint that only speaks h2.
   */
  transport?: 'http1' | 'http2';
  /** Extra CA to trust with `transport: 'http2'` (the h2 handler takes no agent). */
  http2Ca?: string | Buffer;
  /**
   * `maxTokens` sent when a request names none: the catalogue's default for the model (reasoning
   * models get more room), else this (DEFAULT_MAX_TOKENS), lowered to the model's cap. Default: none sent.
   */
  defaultMaxTokens?: number;
}

/** SDK attempts per Bedrock call by default: no SDK retries (the worker retries). */
export const BEDROCK_SDK_MAX_ATTEMPTS = 1;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Placeholder credentials for a loopback endpoint: an emulator checks the shape, not the secret. */
const EMULATOR_CREDENTIALS: AwsCredentialIdentity = { accessKeyId: 'EMULATORKEY', secretAccessKey: 'emulator-secret' };

function isLoopback(endpoint: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** Builds the SDK client from the options (used when none is injected). */
function buildClient(opts: BedrockConverseOptions): BedrockRuntimeClient {
  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  const connectionTimeout = opts.connectionTimeoutMs ?? 5_000;
  const credentials = opts.credentials ?? (opts.endpoint && isLoopback(opts.endpoint) ? EMULATOR_CREDENTIALS : undefined);
  // The SDK's default handler for Bedrock Runtime is NodeHttp2Handler (every command, Converse
  // included). We use the HTTP/1.1 NodeHttpHandler unless told otherwise: it serves http:// and
  // https:// (ALPN http/1.1 against AWS), and `throwOnRequestTimeout` turns the request timeout
  // into a real error (by default it only logs a warning). Why not h2: lambda/README.md.
  const requestHandler =
    opts.transport === 'http2'
      ? new NodeHttp2Handler({
          requestTimeout,
          // The SDK's own default for this client (one stream per session); an options object
          // replaces its defaults, so it is restated here.
          disableConcurrentStreams: true,
          ...(opts.http2Ca ? { nodeHttp2ConnectOptions: { ca: opts.http2Ca } } : {}),
        })
      : new NodeHttpHandler({
          requestTimeout,
          connectionTimeout,
          throwOnRequestTimeout: true,
          httpAgent: new http.Agent({ keepAlive: true }),
          httpsAgent: opts.httpsAgent ?? new https.Agent({ keepAlive: true }),
        });
  return new BedrockRuntimeClient({
    region: opts.region,
    maxAttempts: opts.maxAttempts ?? BEDROCK_SDK_MAX_ATTEMPTS,
    ...(credentials ? { credentials } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    requestHandler,
  });
}

function textOf(content: ContentBlock[] | undefined): string {
  return (content ?? []).map((b) => ('text' in b && typeof b.text === 'string' ? b.text : '')).join('');
}

/** Characters per token of the reasoning estimate (a common rule of thumb for English BPE text; not exact). */
const CHARS_PER_TOKEN = 4;

/**
 * The output tokens spent reasoning (see {@link ConverseResult.reasoningTokens}). Reasoning comes
 * as `reasoningContent` blocks (`reasoningText: {text, signature}` or encrypted `redactedContent`,
 * SDK 3.1163 `ReasoningContentBlock`), never as the answer.
 */
export function reasoningUsage(
  content: ContentBlock[] | undefined,
  text: string,
  outputTokens: number,
): { tokens?: number; estimated?: boolean } {
  const blocks = (content ?? []).filter((b) => 'reasoningContent' in b && b.reasoningContent);
  if (blocks.length === 0) return {};
  if (text.trim() === '') return { tokens: outputTokens, estimated: false };
  const chars = blocks.reduce((n, b) => n + (b.reasoningContent?.reasoningText?.text?.length ?? 0), 0);
  if (chars === 0) return {};
  return { tokens: Math.min(outputTokens, Math.ceil(chars / CHARS_PER_TOKEN)), estimated: true };
}

/** Most retries of one call without a parameter Bedrock named (one per parameter). */
const MAX_PARAMETER_RETRIES = 3;

/**
 * Creates the Converse function the handler uses.
 *
 * @param opts - region, optional endpoint override, default model; `client` to inject one
 */
export function createBedrockConverse(opts: BedrockConverseOptions): ConverseFn {
  const client = opts.client ?? buildClient(opts);
  const catalog = opts.catalog ?? SHIPPED_CATALOG;
  return async function converse(req: ConverseRequest): Promise<ConverseResult> {
    const modelId = req.modelId || opts.defaultModelId;
    if (req.maxTokens !== undefined) {
      const problem = catalog.maxTokensProblem(modelId, req.maxTokens, 'parameters.max_tokens');
      if (problem) throw new ValidationError(problem, { field: 'parameters.max_tokens' });
    }
    const maxTokens =
      req.maxTokens ?? (opts.defaultMaxTokens === undefined ? undefined : catalog.defaultMaxTokens(modelId, opts.defaultMaxTokens));
    // What the model rejects is left out before sending (catalogue, and what the fleet learned);
    // what Bedrock still rejects by name is left out on a retry.
    const omitted = plannedOmissions(catalog.accepted(modelId), req, (req.omitParameters ?? []).filter(isRejectableParameter));
    const rejected: RejectableParameter[] = [];
    const rules = req.cache === false ? undefined : catalog.cacheRules(modelId);
    let checkpoints = 0;
    const started = Date.now();
    let out: ConverseCommandOutput;
    for (;;) {
      try {
        const command = commandFor(modelId, req, maxTokens, omitted, rules);
        checkpoints = command.checkpoints;
        out = await client.send(command.command, { abortSignal: req.signal });
        break;
      } catch (err) {
        const parameter = rejectedParameterOf(err);
        if (
          parameter &&
          !omitted.includes(parameter) &&
          sends(req, parameter) &&
          rejected.length < MAX_PARAMETER_RETRIES &&
          !req.signal?.aborted
        ) {
          omitted.push(parameter);
          rejected.push(parameter);
          continue;
        }
        const reason = req.signal?.reason as { name?: string } | undefined;
        throw toBedrockProviderError(err, {
          timedOut: req.signal?.aborted === true && reason?.name === 'TimeoutError',
          modelId,
          region: opts.region,
          catalog,
        });
      }
    }
    const content = out.output?.message?.content;
    const text = textOf(content);
    const outputTokens = out.usage?.outputTokens ?? 0;
    const reasoning = reasoningUsage(content, text, outputTokens);
    return {
      text,
      modelId,
      inputTokens: out.usage?.inputTokens ?? 0,
      outputTokens,
      stopReason: out.stopReason ?? 'unknown',
      latencyMs: out.metrics?.latencyMs ?? Date.now() - started,
      ...(reasoning.tokens !== undefined ? { reasoningTokens: reasoning.tokens, reasoningTokensEstimated: reasoning.estimated } : {}),
      omittedParameters: omitted,
      rejectedParameters: rejected,
      cacheReadInputTokens: out.usage?.cacheReadInputTokens ?? 0,
      cacheWriteInputTokens: out.usage?.cacheWriteInputTokens ?? 0,
      cacheCheckpoints: checkpoints,
    };
  };
}

/** True when the request would send `parameter`. */
function sends(req: ConverseRequest, parameter: RejectableParameter): boolean {
  if (parameter === 'temperature') return req.temperature !== undefined;
  if (parameter === 'top_p') return req.topP !== undefined;
  return Boolean(req.system);
}

/**
 * The Converse command of a request without the `omitted` parameters, with the checkpoints
 * `rules` allow (cache-points.ts). A system prompt the model rejects goes into the first user
 * message instead, so its instructions still reach the model.
 */
function commandFor(
  modelId: string,
  req: ConverseRequest,
  maxTokens: number | undefined,
  omitted: readonly RejectableParameter[],
  rules: CacheRules | undefined,
): { command: ConverseCommand; checkpoints: number } {
  const turns: ConverseTurn[] = [...req.history, { role: 'user', content: req.prompt }];
  const foldSystem = Boolean(req.system) && omitted.includes('system');
  const texts = turns.map((m, i) => (foldSystem && i === 0 ? `${req.system}\n\n${m.content}` : m.content));
  const plan: CachePlan = rules
    ? planCachePoints(rules, req.system && !foldSystem ? req.system : undefined, texts, req.cacheHistory)
    : NO_CACHE;
  const cachePoint = { cachePoint: { type: 'default' as const } };
  const messages: Message[] = turns.map((m, i) => ({
    role: m.role,
    content: plan.afterMessages.includes(i) ? [{ text: texts[i]! }, cachePoint] : [{ text: texts[i]! }],
  }));
  const temperature = omitted.includes('temperature') ? undefined : req.temperature;
  const topP = omitted.includes('top_p') ? undefined : req.topP;
  const inferenceConfig =
    temperature === undefined && topP === undefined && maxTokens === undefined
      ? undefined
      : {
          ...(temperature !== undefined ? { temperature } : {}),
          ...(topP !== undefined ? { topP } : {}),
          ...(maxTokens !== undefined ? { maxTokens } : {}),
        };
  const command = new ConverseCommand({
    modelId,
    messages,
    ...(req.system && !foldSystem ? { system: plan.system ? [{ text: req.system }, cachePoint] : [{ text: req.system }] } : {}),
    ...(inferenceConfig ? { inferenceConfig } : {}),
  });
  return { command, checkpoints: (plan.system ? 1 : 0) + plan.afterMessages.length };
}
