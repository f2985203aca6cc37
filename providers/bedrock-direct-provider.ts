/**
 * The cloud side without the Lambda hop (CLOUD=bedrock): an {@link LlmProvider} that calls
 * Bedrock Converse from the worker through the same code the Lambda runs (bedrock/bedrock-client.ts:
 * the model catalogue's caps and default maxTokens, the parameters a model rejects left out or
 * retried without, reasoning usage; bedrock/bedrock-errors.ts: the error classification). So a
 * reply and an error look to the worker as they do through API Gateway: the same `code`,
 * `status` and `retryable` (a throttle is 429 `throttled`, model access pending is
 * `model_access_pending`, end of life `model_end_of_life` …), only `provider` is `bedrock`.
 *
 * Timeouts: one AbortSignal per call, the per-call timeout (BEDROCK_TIMEOUT_MS, by default the
 * cloud worker's API_GATEWAY_TIMEOUT_MS) combined with `call.signal`; the SDK's own request timeout
 * is a second behind it. A timeout is `timeout` (retryable); `call.signal` aborting is `aborted`
 * with the name `AbortError`, as every provider answers a cancel.
 *
 * @example
 * const cloud = createBedrockDirectProvider({ converse: createBedrockConverse({ region, defaultModelId }), timeoutMs: 30_000 });
 */
import type { ConverseFn, ConverseResult } from '../bedrock/bedrock-client';
import { errorMessage, PipelineError, ProviderError } from '../shared/errors';
import { abortScope } from './abort-scope';
import { TRUNCATING_STOPS } from './api-gateway-client';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';

export interface BedrockDirectOptions {
  /** The Converse call (bedrock/bedrock-client.ts `createBedrockConverse`). */
  converse: ConverseFn;
  /** Per-call timeout in ms when the call gives none (BEDROCK_TIMEOUT_MS). */
  timeoutMs: number;
}

/** Builds the direct Bedrock {@link LlmProvider}. */
export function createBedrockDirectProvider(opts: BedrockDirectOptions): LlmProvider {
  const { converse, timeoutMs } = opts;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createBedrockDirectProvider: timeoutMs must be > 0');
  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const callTimeout = call.timeoutMs ?? timeoutMs;
      const scope = abortScope([call.signal], callTimeout);
      const model = call.model || '';
      const aborted = () => {
        const reason = call.signal?.reason;
        const err = new ProviderError(
          'bedrock',
          `Bedrock call${model ? ` to model "${model}"` : ''} was aborted${reason === undefined ? '' : `: ${errorMessage(reason)}`}`,
          { code: 'aborted', retryable: false, cause: reason },
        );
        err.name = 'AbortError';
        return err;
      };
      try {
        if (call.signal?.aborted) throw aborted();
        const startedAt = performance.now();
        let reply: ConverseResult;
        try {
          reply = await converse({
            modelId: call.model || undefined,
            system: call.system,
            history: call.history ?? [],
            prompt: call.prompt,
            temperature: call.temperature,
            maxTokens: call.maxTokens,
            omitParameters: model ? call.learnedOmissions?.[model] : undefined,
            ...(call.cache === false ? { cache: false } : {}),
            ...(call.cacheHistory ? { cacheHistory: call.cacheHistory } : {}),
            signal: scope.signal,
          });
        } catch (err) {
          if (call.signal?.aborted) throw aborted();
          if (scope.timedOut) {
            throw new ProviderError(
              'bedrock',
              `Bedrock call${model ? ` to model "${model}"` : ''} timed out after ${callTimeout} ms (BEDROCK_TIMEOUT_MS, or the time left before the conversation's deadline)`,
              { code: 'timeout', retryable: true, status: 504, cause: err },
            );
          }
          if (err instanceof ProviderError) throw err;
          // A request the catalogue refuses before sending (maxTokens over the model's cap): permanent, as the Lambda's 400.
          if (err instanceof PipelineError)
            throw new ProviderError('bedrock', err.message, {
              code: err.code,
              status: err.status ?? 400,
              retryable: err.retryable,
              details: err.details,
              cause: err,
            });
          throw new ProviderError('bedrock', `Bedrock call failed: ${errorMessage(err)}`, {
            code: 'upstream_error',
            retryable: true,
            cause: err,
          });
        }
        const stopReason = reply.stopReason || 'unknown';
        return {
          text: reply.text,
          model: reply.modelId,
          inputTokens: reply.inputTokens,
          outputTokens: reply.outputTokens,
          stopReason,
          latencyMs: Math.round(performance.now() - startedAt),
          ...(TRUNCATING_STOPS.has(stopReason) ? { truncated: true } : {}),
          ...(reply.reasoningTokens !== undefined
            ? { reasoningTokens: reply.reasoningTokens, reasoningTokensEstimated: reply.reasoningTokensEstimated === true }
            : {}),
          ...(reply.omittedParameters.length ? { omittedParameters: reply.omittedParameters } : {}),
          ...(reply.rejectedParameters.length ? { rejectedParameters: reply.rejectedParameters } : {}),
          ...(reply.cacheReadInputTokens ? { cacheReadInputTokens: reply.cacheReadInputTokens } : {}),
          ...(reply.cacheWriteInputTokens ? { cacheWriteInputTokens: reply.cacheWriteInputTokens } : {}),
        };
      } finally {
        scope.dispose();
      }
    },
  };
}
