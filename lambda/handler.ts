/**
 * The Lambda behind API Gateway: base64 protobuf `LlmRequest` in, Bedrock Converse call,
 * base64 protobuf `LlmResponse` out. Accepts REST (payload 1.0) and HTTP API (2.0) proxy events,
 * and the seed's JSON envelope as the event (non-proxy integration) or as a proxy event's body,
 * answering those in the seed's envelope (seed-envelope.ts).
 * Never throws: every failure becomes a proxy result with a fitting status and an error detail.
 *
 * | failure                                   | status |
 * |-------------------------------------------|--------|
 * | bad event, empty body, bad base64/protobuf, invalid field | 400 |
 * | method other than POST                    | 405    |
 * | Bedrock throttling / model not ready      | 429    |
 * | Bedrock unavailable / unreachable         | 503    |
 * | model access pending (AWS Marketplace)    | 503    |
 * | model end of life / Legacy and unused     | 400    |
 * | Bedrock timeout (our deadline: GATEWAY_TIMEOUT_MS − 2 s) | 504    |
 * | other upstream error                      | 502    |
 * | bug or misconfiguration in the function   | 500    |
 *
 * @example
 * // AWS: handler "handler.handler" (config from the function's environment, read on first call)
 * export { handler } from './handler';
 * // tests and the local gateway:
 * const h = createHandler({ converse: createBedrockConverse({ region, endpoint, defaultModelId }) });
 */
import { loadModelCatalog } from '../shared/model-catalog';
import { decodeRequest, type LlmRequest, type LlmResponse } from '../proto/codec';
import { loadLambdaConfig, type LambdaConfig } from './lambda-config';
import { PipelineError, ProviderError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { awsLambdaEntry, tracedConverse, tracedInvocation } from './invocation-span';
import { createBedrockConverse, type ConverseFn } from '../bedrock/bedrock-client';
import { parseProxyEvent, requestProtobufBytes } from './proxy-event';
import { errorDetailOf, errorResult, protobufResult } from './proxy-response';
import type { LambdaContext, ProxyEvent, ProxyHandler, ProxyResult } from './proxy-types';
import type { SeedCall } from './seed-envelope';
import { validateLlmRequest } from './request-validation';

/** The logging calls the handler makes (pino's signature). */
export interface HandlerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Dependencies of {@link createHandler}; each defaults lazily on the first call. */
export interface HandlerDeps {
  /** The Bedrock call; default: {@link createBedrockConverse} from `config`. */
  converse?: ConverseFn;
  /** Configuration (or a loader); default: `loadLambdaConfig()` from the function's environment. */
  config?: LambdaConfig | (() => LambdaConfig);
  /** Logger; default: shared/logger at `config.logLevel`, JSON to stdout (CloudWatch). */
  logger?: HandlerLogger;
  /** Time kept back from the Lambda deadline to answer before being killed (default 1000 ms). */
  deadlineMarginMs?: number;
  /** Longest Bedrock call, in ms (default {@link bedrockCallBudgetMs} of the config's GATEWAY_TIMEOUT_MS). */
  callBudgetMs?: number;
}

/** Time kept back from API Gateway's integration timeout for the Lambda to answer (and be billed) first. */
export const GATEWAY_MARGIN_MS = 2000;

/**
 * The Bedrock call's own deadline: GATEWAY_TIMEOUT_MS (API Gateway's integration timeout, 29 s by
 * default; Regional and private REST APIs may raise it since June 2024:
 * https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-api-gateway-integration-timeout-limit-29-seconds/,
 * read 2026-12-02) minus {@link GATEWAY_MARGIN_MS}, so a slow answer becomes our 504 with a message
 * naming the setting instead of the gateway's bare "Endpoint request timed out".
 */
export function bedrockCallBudgetMs(gatewayTimeoutMs: number): number {
  return Math.max(100, gatewayTimeoutMs - GATEWAY_MARGIN_MS);
}

interface Resolved {
  converse: ConverseFn;
  logger: HandlerLogger;
  budgetMs: number;
  gatewayTimeoutMs?: number;
}

/** Whitespace-split tokens of the reply, as the seed's `tokens` field carried. */
const tokensOf = (text: string): string[] => text.split(/\s+/).filter(Boolean);

function deadlineSignal(context: LambdaContext | undefined, marginMs: number, budgetMs: number): AbortSignal {
  const remaining = context?.getRemainingTimeInMillis?.();
  const left = remaining === undefined || !Number.isFinite(remaining) ? budgetMs : Math.min(budgetMs, remaining - marginMs);
  return AbortSignal.timeout(Math.max(100, left));
}

/**
 * Creates a Lambda proxy handler. Config, Bedrock client and logger are built on first use, once.
 */
export function createHandler(deps: HandlerDeps = {}): ProxyHandler {
  let resolved: Resolved | undefined;
  const marginMs = deps.deadlineMarginMs ?? 1000;
  const resolve = (): Resolved => {
    if (resolved) return resolved;
    let config: LambdaConfig | undefined;
    const getConfig = (): LambdaConfig => {
      config ??= typeof deps.config === 'function' ? deps.config() : (deps.config ?? loadLambdaConfig());
      return config;
    };
    const logger = deps.logger ?? createLogger({ level: getConfig().logLevel, name: 'lambda' });
    const converse = tracedConverse(
      deps.converse ??
        createBedrockConverse({
          region: getConfig().awsRegion,
          endpoint: getConfig().bedrockEndpoint,
          defaultModelId: getConfig().bedrockModelId,
          defaultMaxTokens: getConfig().defaultMaxTokens,
          catalog: loadModelCatalog(getConfig().modelCatalogFile),
        }),
      getConfig().bedrockModelId,
      getConfig().bedrockEndpoint,
    );
    const gatewayTimeoutMs = deps.callBudgetMs === undefined ? getConfig().gatewayTimeoutMs : undefined;
    const budgetMs = deps.callBudgetMs ?? bedrockCallBudgetMs(gatewayTimeoutMs ?? 29_000);
    resolved = { converse, logger, budgetMs, gatewayTimeoutMs };
    return resolved;
  };

  // Each invocation a SERVER span continuing the worker's traceparent (a pass-through while tracing is off).
  return tracedInvocation(async function handle(event: ProxyEvent, context?: LambdaContext): Promise<ProxyResult> {
    const started = Date.now();
    let accept: string | undefined;
    let echo: Pick<LlmResponse, 'conversationId' | 'turn'> = {};
    let logger: HandlerLogger | undefined = deps.logger;
    let seed: SeedCall | undefined;
    try {
      ({ logger } = resolve());
      const req = parseProxyEvent(event);
      seed = req.seed;
      accept = req.headers['accept'];
      if (req.method !== 'POST') {
        const detail = {
          code: 'method_not_allowed',
          message: `method ${req.method} not allowed: POST a base64 protobuf LlmRequest`,
          retryable: false,
          status: 405,
        };
        return errorResult(detail, accept, {}, { Allow: 'POST' });
      }
      const message: LlmRequest = decodeRequest(requestProtobufBytes(req));
      echo = { conversationId: message.conversationId || undefined, turn: message.turn || undefined };
      const call = validateLlmRequest(message);
      logger.debug({ prompt: call.prompt, system: call.system, historyLength: call.history.length }, 'request');
      const { budgetMs, gatewayTimeoutMs } = resolve();
      const reply = await resolve()
        .converse({
          modelId: call.modelId,
          system: call.system,
          history: call.history,
          prompt: call.prompt,
          temperature: call.temperature,
          topP: call.topP,
          maxTokens: call.maxTokens,
          omitParameters: call.omitParameters,
          ...(call.cache === false ? { cache: false } : {}),
          ...(call.cacheHistory ? { cacheHistory: call.cacheHistory } : {}),
          signal: deadlineSignal(context, marginMs, budgetMs),
        })
        .catch((err: unknown) => {
          throw budgetExceeded(err, budgetMs, gatewayTimeoutMs);
        });
      logger.info(
        {
          requestId: context?.awsRequestId ?? req.requestId,
          conversationId: echo.conversationId,
          turn: echo.turn,
          modelId: reply.modelId,
          inputTokens: reply.inputTokens,
          outputTokens: reply.outputTokens,
          stopReason: reply.stopReason,
          reasoningTokens: reply.reasoningTokens,
          cacheReadInputTokens: reply.cacheReadInputTokens || undefined,
          cacheWriteInputTokens: reply.cacheWriteInputTokens || undefined,
          cacheCheckpoints: reply.cacheCheckpoints || undefined,
          omittedParameters: reply.omittedParameters.length ? reply.omittedParameters : undefined,
          rejectedParameters: reply.rejectedParameters.length ? reply.rejectedParameters : undefined,
          bedrockLatencyMs: reply.latencyMs,
          totalMs: Date.now() - started,
        },
        'converse ok',
      );
      logger.debug({ reply: reply.text }, 'reply');
      return protobufResult(
        200,
        {
          outputText: reply.text,
          tokens: tokensOf(reply.text),
          modelId: reply.modelId,
          inputTokens: reply.inputTokens,
          outputTokens: reply.outputTokens,
          stopReason: reply.stopReason,
          latencyMs: Math.round(reply.latencyMs),
          ...(reply.reasoningTokens !== undefined
            ? { reasoningTokens: reply.reasoningTokens, reasoningTokensEstimated: reply.reasoningTokensEstimated === true }
            : {}),
          ...(reply.omittedParameters.length ? { omittedParameters: reply.omittedParameters } : {}),
          ...(reply.rejectedParameters.length ? { rejectedParameters: reply.rejectedParameters } : {}),
          ...(reply.cacheReadInputTokens ? { cacheReadInputTokens: reply.cacheReadInputTokens } : {}),
          ...(reply.cacheWriteInputTokens ? { cacheWriteInputTokens: reply.cacheWriteInputTokens } : {}),
          ...echo,
        },
        accept,
        seed,
      );
    } catch (err) {
      const detail = errorDetailOf(err);
      const log = { requestId: context?.awsRequestId, ...echo, status: detail.status, code: detail.code, err: errSummary(err) };
      if (!logger) console.error(JSON.stringify({ level: 'error', msg: 'handler failed before its logger existed', ...log }));
      else if (detail.status >= 500) logger.error(log, 'request failed');
      else logger.warn(log, 'request rejected');
      return errorResult(detail, accept, echo, {}, seed);
    }
  });
}

/**
 * A Bedrock call cut by the budget: the message says which setting bounds it, so a slow model is
 * fixed by raising GATEWAY_TIMEOUT_MS (with the API's integration timeout), not by retrying.
 */
function budgetExceeded(err: unknown, budgetMs: number, gatewayTimeoutMs: number | undefined): unknown {
  if (!(err instanceof ProviderError) || err.code !== 'upstream_timeout') return err;
  const setting =
    gatewayTimeoutMs === undefined
      ? `the handler's call budget of ${budgetMs} ms`
      : `GATEWAY_TIMEOUT_MS=${gatewayTimeoutMs} minus ${GATEWAY_MARGIN_MS} ms`;
  return new ProviderError(
    'bedrock',
    `${err.message} (the Lambda gives Bedrock ${budgetMs} ms: ${setting}; for a slower model raise GATEWAY_TIMEOUT_MS, the template's GatewayTimeoutSeconds, or lower maxTokens)`,
    {
      status: err.status,
      code: err.code,
      retryable: err.retryable,
      details: err.details,
      cause: err,
    },
  );
}

/** What is safe to log about an error: name, code, message (never request content). */
function errSummary(err: unknown): object {
  if (err instanceof PipelineError) return { name: err.name, code: err.code, message: err.message, details: err.details };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { value: String(err) };
}

/** The AWS entry point: config from the function's environment, read on the first invocation. */
export const handler: ProxyHandler = awsLambdaEntry(createHandler());
