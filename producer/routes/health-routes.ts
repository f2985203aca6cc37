/** `/health` (the process is up) and `/ready` (Redis reachable, queues usable). */
import Router from '@koa/router';
import type { Redis } from 'ioredis';
import type { PipelineQueues } from '../../queue/pipeline-queues';
import type { Middleware } from 'koa';
import { errorBody } from '../error-middleware';

/** `verbose`: answers `/ready?verbose=1` (ready-verbose.ts) and passes plain `/ready` on. */
export function healthRoutes(redis: Redis, queues: PipelineQueues, verbose?: Middleware): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  });
  router.get('/ready', ...(verbose ? [verbose] : []), async (ctx) => {
    try {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1500).unref());
      await Promise.race([redis.ping(), timeout]);
      const counts = await Promise.race([queues.cloud.getJobCounts('waiting', 'active'), timeout]);
      ctx.body = { status: 'ready', redis: 'ok', queues: { cloud: counts } };
    } catch (err) {
      ctx.status = 503;
      ctx.body = errorBody('not_ready', `Redis is not reachable: ${(err as Error).message}`);
    }
  });
  return router;
}
