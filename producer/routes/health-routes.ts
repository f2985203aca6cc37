/** `/health` (the process is up) and `/ready` (Redis reachable, queues usable). */
import Router from '@koa/router';
import type { Redis } from 'ioredis';
import type { PipelineQueues } from '../../queue/pipeline-queues';
import type { Middleware } from 'koa';
import type { Logger } from '../../shared/logger';
import { redactUrlsIn } from '../../shared/redact-url';
import { errorBody } from '../error-middleware';

/** What `/ready` tells anyone while Redis is away; the detail goes to the log only. */
export const NOT_READY_MESSAGE = 'Redis is not reachable (the producer log has the detail)';

/** `verbose`: answers `/ready?verbose=1` (ready-verbose.ts) and passes plain `/ready` on; `logger`: where the detail of a failed check goes. */
export function healthRoutes(redis: Redis, queues: PipelineQueues, opts: { verbose?: Middleware; logger?: Logger } = {}): Router {
  const { verbose, logger } = opts;
  const router = new Router();
  // Probes come every few seconds: the same detail is logged at most once a minute.
  let lastLogged = { message: '', at: 0 };
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
      // Open to anyone, so no raw Redis error (addresses, ACL user names, script text) in the answer.
      const message = redactUrlsIn((err as Error).message);
      if (message !== lastLogged.message || Date.now() - lastLogged.at > 60_000) {
        lastLogged = { message, at: Date.now() };
        logger?.warn({ err: message }, 'readiness check failed');
      }
      ctx.body = errorBody('not_ready', NOT_READY_MESSAGE);
    }
  });
  return router;
}
