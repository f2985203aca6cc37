/**
 * Cloud fallbacks: a call that names `fallbackModels` (a conversation's `cloudModel` list after the
 * first) asks its model, and after a run of `throttleRun` consecutive throttles (429) or quota
 * errors (`quota_exceeded`) on it, asks the next one, and so on; a reply from a fallback carries
 * `requestedModel` (the model asked first), which the turn records. Between two throttled tries of
 * one model it waits a jittered exponential backoff from `backoffMs`, bounded by the call's signal.
 * On the step's last attempt (`lastAttempt`), a retryable error of a model that is not the last
 * also moves the call to the next model, since the step would otherwise fail with
 * `retries_exhausted`. A model Bedrock refuses for good because of its lifecycle (`model_end_of_life`,
 * `model_legacy`: bedrock/bedrock-errors.ts) moves the call to the next model at once, on any
 * attempt. Other errors go to the step's failure policy unchanged, as does the last
 * model's last throttle (BullMQ's retries then start again from the first model). A call without
 * fallbacks is passed through untouched.
 */
import { ProviderError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';
import { pause } from './abort-scope';

export interface FallbackCloudOptions {
  inner: LlmProvider;
  /** Consecutive throttles on one model that move the call to the next (CLOUD_FALLBACK_AFTER_THROTTLES). */
  throttleRun: number;
  /** First wait between two throttled tries, ms; doubles each time. Default 250. */
  backoffMs?: number;
  logger?: Logger;
}

/** A throttle or a quota that another model may not share. */
export function isThrottleOrQuota(err: unknown): boolean {
  return (
    err instanceof ProviderError &&
    err.code !== 'gateway_quota_exceeded' &&
    (err.status === 429 || err.code === 'quota_exceeded' || err.code === 'throttled')
  );
}

/** A model Bedrock no longer serves (to this account): another model is the only way on. */
export function isRetiredModel(err: unknown): boolean {
  return err instanceof ProviderError && (err.code === 'model_end_of_life' || err.code === 'model_legacy');
}

/** Wraps the cloud provider with the fallback list of each call. */
export function createFallbackCloudProvider(opts: FallbackCloudOptions): LlmProvider {
  const { inner, throttleRun, logger } = opts;
  const backoffMs = opts.backoffMs ?? 250;
  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const { fallbackModels, lastAttempt, ...single } = call;
      if (!fallbackModels?.length) return inner.generate(single);
      const models = [call.model, ...fallbackModels];
      for (const [i, model] of models.entries()) {
        for (let throttles = 1; ; throttles++) {
          try {
            const reply = await inner.generate({ ...single, model });
            return i === 0 ? reply : { ...reply, requestedModel: call.model };
          } catch (err) {
            if (call.signal?.aborted) throw err;
            if (isRetiredModel(err) && i < models.length - 1) {
              logger?.warn(
                { model, next: models[i + 1], code: (err as ProviderError).code, conversationId: call.conversationId, turn: call.turn },
                `cloud model "${model}" is refused by Bedrock (${(err as ProviderError).code}); turn ${call.turn ?? '?'} goes to fallback "${models[i + 1]}"`,
              );
              break;
            }
            if (!isThrottleOrQuota(err)) {
              if (!lastAttempt || i === models.length - 1 || !(err instanceof ProviderError && err.retryable)) throw err;
              logger?.warn(
                { model, next: models[i + 1], err: err.message, conversationId: call.conversationId, turn: call.turn },
                `cloud model "${model}" failed on the step's last attempt (${err.code}); turn ${call.turn ?? '?'} goes to fallback "${models[i + 1]}"`,
              );
              break;
            }
            if (throttles >= throttleRun) {
              if (i === models.length - 1) throw err;
              logger?.warn(
                { model, next: models[i + 1], throttles, conversationId: call.conversationId, turn: call.turn },
                `cloud model "${model}" throttled ${throttles} times in a row; turn ${call.turn ?? '?'} goes to fallback "${models[i + 1]}"`,
              );
              break;
            }
            await pause(backoffMs * 2 ** (throttles - 1) * (0.5 + Math.random()), call.signal);
          }
        }
      }
      throw new Error('unreachable: the last model rethrows');
    },
  };
}
