/**
 * The seed's single inference, `POST /api/v1/generate`, through the same cloud path as the
 * workers (API Gateway → Lambda → Bedrock).
 */
import Router from '@koa/router';
import type { Config } from '../../shared/config';
import { PipelineError, ProviderError, ValidationError } from '../../shared/errors';
import type { LlmProvider } from '../../providers/llm-provider';
import { describeIssues, generateRequestSchema } from '../../conversation/conversation-request';
import { readJsonBody } from '../json-body';

/** Maps a provider failure to the status this API answers. */
export function providerStatus(err: ProviderError): number {
  if (err.code === 'timeout') return 504;
  if (err.status === 429) return 429;
  if (!err.retryable && err.status && err.status >= 400 && err.status < 500) return 400;
  if (err.status === 503) return 503;
  return 502;
}

export function generateRoute(cloud: LlmProvider, config: Config): Router {
  const router = new Router();
  router.post('/api/v1/generate', async (ctx) => {
    const body = await readJsonBody(ctx, config.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body must be a JSON object with "inputText"');
    const parsed = generateRequestSchema.safeParse(body);
    if (!parsed.success) {
      const { message, details } = describeIssues(parsed.error);
      throw new ValidationError(`invalid generate request: ${message}`, details);
    }
    const ac = new AbortController();
    ctx.req.once('close', () => ac.abort());
    try {
      const reply = await cloud.generate({
        prompt: parsed.data.inputText,
        temperature: parsed.data.temperature,
        maxTokens: parsed.data.maxTokens,
        signal: ac.signal,
        timeoutMs: config.apiGatewayTimeoutMs,
      });
      ctx.body = { response: reply.text, model: reply.model, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, latencyMs: reply.latencyMs };
    } catch (err) {
      if (err instanceof ProviderError) {
        throw new PipelineError(`cloud model: ${err.message}`, { code: err.code, status: providerStatus(err), details: { retryable: err.retryable } });
      }
      throw err;
    }
  });
  return router;
}
