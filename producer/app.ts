/**
 * The producer's Koa app factory: error mapping first, then the Host/Origin guard, then auth, then the routes of the HTTP API
 * (README, "HTTP API").
 * It does not listen; `producer/main.ts` (or a test) does.
 *
 * @example
 * const app = createApp({ config, redis, store, queues, cloud, logger });
 * const server = app.listen(config.port, config.host);
 */
import Koa from 'koa';
import type Router from '@koa/router';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config';
import type { ConversationStore } from '../store/conversation-store';
import type { LlmProvider } from '../providers/llm-provider';
import type { Logger } from '../shared/logger';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { apiKeyAuth } from './api-key-auth';
import { ConversationService } from './conversation-service';
import { errorMiddleware } from './error-middleware';
import { hostGuard } from './host-guard';
import { conversationRoutes } from './routes/conversation-routes';
import { estimateRoute } from './routes/estimate-route';
import { generateRoute } from './routes/generate-route';
import { healthRoutes } from './routes/health-routes';
import { runsExportRoutes } from './routes/runs-export-route';
import { RunService } from '../runs/run-service';
import { runsRoutes } from './routes/runs-routes';

export interface AppDeps {
  config: Config;
  /** A producer-style connection (fails fast while Redis is down). */
  redis: Redis;
  store: ConversationStore;
  queues: PipelineQueues;
  /** The cloud path for `/api/v1/generate`. */
  cloud: LlmProvider;
  logger: Logger;
  /** Extra routers mounted after the core routes (Bull Board, metrics, events). */
  routers?: Router[];
  /** Koa middleware mounted before auth (e.g. Bull Board with its own auth). */
  before?: Koa.Middleware[];
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const service = new ConversationService(deps);
  app.on('error', (err: Error, ctx?: Koa.Context) => {
    deps.logger.error({ err: err.message, stack: err.stack, method: ctx?.method, path: ctx?.path }, 'request failed');
  });
  app.use(errorMiddleware);
  // Host and Origin first: a DNS-rebinding or cross-site request reaches nothing, the board included.
  app.use(hostGuard({ allowedHosts: deps.config.allowedHosts, host: deps.config.host }));
  for (const mw of deps.before ?? []) app.use(mw);
  app.use(apiKeyAuth(deps.config.apiKey));
  const routers = [
    healthRoutes(deps.redis, deps.queues, deps.logger),
    conversationRoutes(service, deps.config),
    generateRoute(deps.cloud, deps.config),
    runsExportRoutes(deps),
    runsRoutes(new RunService(deps), deps.config),
    estimateRoute(deps.config),
    ...(deps.routers ?? []),
  ];
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
