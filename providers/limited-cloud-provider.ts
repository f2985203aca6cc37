/**
 * The cloud provider behind a fleet-wide token- and request-per-minute limiter per model id
 * (CLOUD_LIMITS_FILE / CLOUD_LIMITS; the Redis side is `coordination/cloud-limiter.ts`). Before a call it
 * reserves one request and its token estimate (the prompt's characters / 4, plus `maxTokens`,
 * as Bedrock itself reserves input + max tokens), waiting for room — bounded by the call's signal,
 * which carries the conversation's deadline, cancellation and the job's lock. After the call it
 * settles the reservation to the usage the reply reports. A 429 cancels the reservation, lowers
 * the model's effective limits fleet-wide (AIMD, recovered by successes) and the call waits and
 * tries again, up to `maxThrottleRetries` times, before the 429 goes to the step's failure policy.
 * Models without limits go straight to the inner provider (the fleet-wide 429 pause,
 * CLOUD_THROTTLE_BACKOFF_MS, still covers them).
 */
import { randomUUID } from 'node:crypto';
import type { CloudLimits, ModelLimits } from '../shared/cloud-limits';
import { errorMessage, ProviderError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';
import { pause } from './abort-scope';

/** The limiter the provider uses (implemented by `coordination/cloud-limiter.ts` `CloudLimiter`). */
export interface TokenRateLimiter {
  reserve(model: string, limits: ModelLimits, callId: string, tokens: number): Promise<number>;
  settle(model: string, callId: string, tokens: number): Promise<void>;
  cancel(model: string, callId: string): Promise<void>;
  tune(model: string, outcome: 'throttled' | 'ok'): Promise<number>;
}

export interface LimitedCloudOptions {
  inner: LlmProvider;
  limiter: TokenRateLimiter;
  limits: CloudLimits;
  /** The model of a call that names none (BEDROCK_MODEL_ID). */
  defaultModel: string;
  /** The output cap of a call that gives none (DEFAULT_MAX_TOKENS). */
  defaultMaxTokens: number;
  /** 429s one call rides out inside the limiter before it fails with the last. Default 3. */
  maxThrottleRetries?: number;
  logger?: Logger;
}

/** A token estimate of the text sent: about four characters a token. */
export function estimateInputTokens(call: Pick<LlmCall, 'prompt' | 'system' | 'history'>): number {
  let chars = call.prompt.length + (call.system?.length ?? 0);
  for (const t of call.history ?? []) chars += t.content.length;
  return Math.ceil(chars / 4);
}

/** A 429 that clears in seconds; API Gateway's usage-plan quota (`gateway_quota_exceeded`) does not. */
const isThrottle = (err: unknown) => err instanceof ProviderError && err.status === 429 && err.code !== 'gateway_quota_exceeded';

function aborted(signal: AbortSignal, model: string): ProviderError {
  const err = new ProviderError(
    'api-gateway',
    `cloud call to "${model}" was aborted while waiting for the model's rate limit: ${errorMessage(signal.reason)}`,
    {
      code: 'aborted',
      retryable: false,
      cause: signal.reason,
    },
  );
  err.name = 'AbortError';
  return err;
}

/** Wraps `inner` with the per-model limiter. */
export function createLimitedCloudProvider(opts: LimitedCloudOptions): LlmProvider {
  const { inner, limiter, limits, logger } = opts;
  const maxRetries = opts.maxThrottleRetries ?? 3;
  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const model = call.model || opts.defaultModel;
      const modelLimits = limits[model];
      if (!modelLimits) return inner.generate(call);
      const estimate = estimateInputTokens(call) + (call.maxTokens ?? opts.defaultMaxTokens);
      for (let throttles = 0; ; throttles++) {
        const callId = randomUUID();
        for (;;) {
          if (call.signal?.aborted) throw aborted(call.signal, model);
          const wait = await limiter.reserve(model, modelLimits, callId, estimate);
          if (wait === 0) break;
          // Jitter spreads the waiters of a fleet over the moment room appears.
          await pause(Math.min(wait, 1000) + Math.random() * 50, call.signal);
        }
        try {
          const reply = await inner.generate(call);
          await limiter.settle(model, callId, reply.inputTokens + reply.outputTokens);
          await limiter.tune(model, 'ok');
          return reply;
        } catch (err) {
          await limiter.cancel(model, callId).catch(() => undefined);
          if (!isThrottle(err)) throw err;
          const factor = await limiter.tune(model, 'throttled');
          logger?.warn(
            { model, factor, throttles: throttles + 1 },
            `cloud model "${model}" throttled (429); its effective limits are now ${Math.round(factor * 100)}% of CLOUD_LIMITS`,
          );
          if (throttles >= maxRetries) throw err;
        }
      }
    },
  };
}
