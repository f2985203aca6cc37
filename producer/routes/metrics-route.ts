/**
 * `GET /metrics`: the producer's Prometheus metrics (text format). Behind the API key when
 * API_KEY is set: Prometheus sends it with `authorization: { type: Bearer, credentials: ... }`.
 */
import Router from '@koa/router';
import type { PipelineMetrics } from '../../shared/metrics';

export function metricsRoute(metrics: Pick<PipelineMetrics, 'metrics' | 'contentType'>): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const text = await metrics.metrics();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.contentType;
    ctx.body = text;
  });
  return router;
}
