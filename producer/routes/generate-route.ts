/**
 * The seed's single inference, `POST /api/v1/generate`, through the same cloud provider as the
 * cloud worker, built by assembly/providers.ts: CLOUD's backend (API Gateway → Lambda → Bedrock by
 * default) behind the fleet-wide CLOUD_LIMITS limiter, which may make a call wait for its model's
 * window (until the client hangs up).
 */
import Router from '@koa/router';
import type { Config } from '../../shared/config';
import { PipelineError, ProviderError, ValidationError } from '../../shared/errors';
import type { LlmProvider } from '../../providers/llm-provider';
import { describeIssues, generateRequestSchema } from '../../conversation/conversation-request';
import { readJsonBody } from '../json-body';
import { LiveSlots, onClientGone } from '../live-slots';

/** Maps a provider failure to the status this API answers. */
export function providerStatus(err: ProviderError): number {
  if (err.code === 'timeout') return 504;
  if (err.status === 429) return 429;
  if (!err.retryable && err.status && err.status >= 400 && err.status < 500) return 400;
  if (err.status === 503) return 503;
  return 502;
}

/**
 * @param waits the pool each call holds a slot of while it runs (MAX_WAITS, shared with
 *   `?wait=true`); default one of its own.
 */
export function generateRoute(cloud: LlmProvider, config: Config, waits?: LiveSlots): Router {
  const router = new Router();
  const pool = waits ?? new LiveSlots({ max: config.maxWaits, setting: 'MAX_WAITS', what: 'waiting requests', code: 'too_many_waits' });
  router.post('/api/v1/generate', async (ctx) => {
    const body = await readJsonBody(ctx, config.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError('body must be a JSON object with "inputText"');
    const parsed = generateRequestSchema.safeParse(body);
    if (!parsed.success) {
      const { message, details } = describeIssues(parsed.error);
      throw new ValidationError(`invalid generate request: ${message}`, details);
    }
    const release = pool.take(ctx, 'generate', 'retry later');
    // A client that hangs up aborts the call to API Gateway (the response's close: the request's
    // has fired already once the body was read). A Lambda already running finishes on its own,
    // bounded by its timeout, as on AWS: API Gateway does not cancel an integration.
    const ac = new AbortController();
    const stop = onClientGone(ctx.res, () => ac.abort(new Error('the client closed the connection')));
    try {
      const reply = await cloud.generate({
        prompt: parsed.data.inputText,
        temperature: parsed.data.temperature,
        maxTokens: parsed.data.maxTokens,
        signal: ac.signal,
        timeoutMs: config.apiGatewayTimeoutMs,
      });
      ctx.body = {
        response: reply.text,
        model: reply.model,
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        latencyMs: reply.latencyMs,
      };
    } catch (err) {
      if (ac.signal.aborted) return;
      if (err instanceof ProviderError) {
        throw new PipelineError(`cloud model: ${err.message}`, {
          code: err.code,
          status: providerStatus(err),
          details: { retryable: err.retryable },
        });
      }
      throw err;
    } finally {
      stop();
      release();
    }
  });
  return router;
}
