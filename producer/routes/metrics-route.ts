/**
 * `GET /metrics`: the producer's Prometheus metrics (text format). Behind the API key when
 * API_KEY is set: Prometheus sends it with `authorization: { type: Bearer, credentials: ... }`.
 */
import Router from '@koa/router';
import type { PipelineMetrics } from '../../shared/metrics';
import { PipelineError } from '../../shared/errors';
import { callerOf } from '../api-key-auth';

/** `adminOnly`: with API_KEYS_FILE the metrics show every key's usage, so only admin keys read them. */
export function metricsRoute(metrics: Pick<PipelineMetrics, 'metrics' | 'contentType'>, opts: { adminOnly?: boolean } = {}): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    if (opts.adminOnly && !callerOf(ctx).admin) {
      throw new PipelineError(
        "/metrics shows every API key's usage: scrape it with an admin key of API_KEYS_FILE (role: admin) or API_KEY",
        { code: 'forbidden', status: 403 },
      );
    }
    const text = await metrics.metrics();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.contentType;
    ctx.body = text;
  });
  return router;
}
