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
import { CallerKeys } from './caller-keys';
import { CallerGuard } from './caller-guard';
import { ConversationService } from './conversation-service';
import { errorMiddleware } from './error-middleware';
import { traceMiddleware } from './trace-middleware';
import { hostGuard } from './host-guard';
import { conversationRoutes } from './routes/conversation-routes';
import { estimateRoute } from './routes/estimate-route';
import { homePageRoute } from './routes/home-page';
import { docsRoute } from './routes/docs-route';
import { generateRoute } from './routes/generate-route';
import { healthRoutes } from './routes/health-routes';
import { readyVerbose } from './routes/ready-verbose';
import { runsExportRoutes } from './routes/runs-export-route';
import { archiveRoute } from './routes/archive-route';
import { RunService } from '../runs/run-service';
import { cloudPriced } from '../cost/price-table';
import { runsRoutes } from './routes/runs-routes';
import type { EventHub } from '../coordination/event-hub';
import { isClientGone, LiveSlots } from './live-slots';
import { memoryAdmission } from './memory-admission';
import { RedisMemory } from '../store/redis-memory';
import { fullestMasterInfo } from '../shared/redis-connection';

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
  /** The callers (API_KEY, API_KEYS_FILE; docs/callers.md). Default: read from `config`. */
  callers?: CallerKeys;
  /** The operator surface's event hub: `?wait=true` waits on it instead of re-reading the record. */
  hub?: EventHub;
  /** The process's pools (from the operator surface): every SSE stream, and every held-open wait. Default: pools of their own. */
  streams?: LiveSlots;
  waits?: LiveSlots;
  /** Aborted at shutdown: run streams end. */
  signal?: AbortSignal;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const service = new ConversationService(deps);
  app.on('error', (err: Error, ctx?: Koa.Context) => {
    // A client that hung up (reset, broken pipe, a write after the close) is normal: no stack.
    if (isClientGone(err)) {
      deps.logger.debug({ code: (err as NodeJS.ErrnoException).code, method: ctx?.method, path: ctx?.path }, 'client went away');
      return;
    }
    deps.logger.error({ err: err.message, stack: err.stack, method: ctx?.method, path: ctx?.path }, 'request failed');
  });
  // First, so the span covers error mapping too and its status is the one the client saw.
  app.use(traceMiddleware());
  app.use(errorMiddleware);
  // Host and Origin first: a DNS-rebinding or cross-site request reaches nothing, the board included.
  app.use(hostGuard({ allowedHosts: deps.config.allowedHosts, host: deps.config.host }));
  for (const mw of deps.before ?? []) app.use(mw);
  app.use(apiKeyAuth(deps.config.apiKey, { callers: deps.callers ?? CallerKeys.fromConfig(deps.config) }));
  app.use(memoryAdmission(new RedisMemory(fullestMasterInfo(deps.redis)), deps.config.redisMemoryRefuseRatio));
  const waits =
    deps.waits ?? new LiveSlots({ max: deps.config.maxWaits, setting: 'MAX_WAITS', what: 'waiting requests', code: 'too_many_waits' });
  const routers = [
    healthRoutes(deps.redis, deps.queues, { verbose: readyVerbose({ config: deps.config, redis: deps.redis }), logger: deps.logger }),
    conversationRoutes(service, deps.config, waits),
    generateRoute(deps.cloud, deps.config, waits),
    runsExportRoutes(deps),
    archiveRoute(deps.store, deps.config.outputDir),
    runsRoutes(new RunService({ ...deps, priced: cloudPriced(deps.config) }), deps.config, {
      streams: deps.streams,
      signal: deps.signal,
      guard: new CallerGuard(deps.store.redis, deps.store.shards),
    }),
    estimateRoute(deps.config, deps.logger),
    homePageRoute(),
    docsRoute(),
    ...(deps.routers ?? []),
  ];
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
