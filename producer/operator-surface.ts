/**
 * The producer's operator and live-progress surface, built once per process and handed to
 * `createApp` as `before` middleware and extra `routers`:
 *  - Bull Board at `/admin/queues` (own access rule, ahead of the API key check);
 *  - `GET /metrics` (Prometheus);
 *  - `GET /conversation/:id/events` (SSE) over one pub/sub subscriber per process;
 *  - `GET /conversations/:id` (the live HTML page) and `GET /conversations?limit=N`.
 *
 * @example
 * const ops = await startOperatorSurface({ config, redis, store, queues, logger });
 * const app = createApp({ config, redis, store, queues, cloud, logger, before: ops.before, routers: ops.routers });
 * // on shutdown, after the HTTP server stopped:
 * await ops.close();
 */
import type Router from '@koa/router';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Config } from '../shared/config';
import type { ConversationStore } from '../store/conversation-store';
import { EventHub } from '../coordination/event-hub';
import type { Logger } from '../shared/logger';
import { duplicateConnection } from '../shared/redis-connection';
import { createMetrics, type PipelineMetrics } from '../shared/metrics';
import { configuredModels } from '../shared/model-label';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { createBoardMiddleware } from './board/bull-board';
import { conversationPageRoute } from './routes/conversation-page';
import { conversationsListRoute } from './routes/conversations-list-route';
import { eventsRoute } from './routes/events-route';
import { metricsRoute } from './routes/metrics-route';
import { loadPriceTable } from '../cost/price-table';
import { CallerKeys } from './caller-keys';
import { registerCallerMetrics } from './caller-metrics';
import { Gauge } from 'prom-client';
import { LiveSlots } from './live-slots';

export interface OperatorSurfaceOptions {
  config: Config;
  /** The producer's connection; the event subscriber is a duplicate of it. */
  redis: Redis;
  store: ConversationStore;
  queues: PipelineQueues;
  logger: Logger;
  /** Metrics to serve (e.g. shared with in-process workers). Default: new, reading `queues`. */
  metrics?: PipelineMetrics;
  /** SSE heartbeat interval, ms. Default 15000. */
  heartbeatMs?: number;
  /** How long start-up waits for the event subscription, ms. Default 5000. */
  subscribeTimeoutMs?: number;
  /** The callers (API_KEY, API_KEYS_FILE). Default: read from `config`. */
  callers?: CallerKeys;
}

export interface OperatorSurface {
  metrics: PipelineMetrics;
  hub: EventHub;
  /** Every SSE stream of this process, of any kind (SSE_MAX_STREAMS); hand it to `createApp`. */
  streams: LiveSlots;
  /** Requests held open while work runs (MAX_WAITS); hand it to `createApp`. */
  waits: LiveSlots;
  /** Aborted by `close()`: streams built elsewhere (run events) end with it. */
  signal: AbortSignal;
  before: Koa.Middleware[];
  routers: Router[];
  /**
   * Ends the open SSE streams (clients reconnect, e.g. to another producer) and stops the event
   * subscriber. Call it first when shutting down: open streams would hold `server.close()` open.
   */
  close(): Promise<void>;
}

const DELETE_CONVERSATION = /^\/conversation\/[^/]+$/;

export async function startOperatorSurface(opts: OperatorSurfaceOptions): Promise<OperatorSurface> {
  const { config, store, queues, logger } = opts;
  const metrics = opts.metrics ?? createMetrics({ queues: queues.all, labels: { role: 'producer' }, models: configuredModels(config) });
  const callers = opts.callers ?? CallerKeys.fromConfig(config);
  registerCallerMetrics(metrics.registry, opts.redis, opts.store.shards, callers.entries);
  // A subscriber blocks its connection and must ride out Redis restarts: no fail-fast here.
  const hub = new EventHub(
    duplicateConnection(
      opts.redis,
      { maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined },
      { shardedSubscribers: store.shardedEvents },
    ),
    store.eventsChannels,
    store.shardedEvents,
  );
  // Wait for the subscription, but not forever: a producer starting while Redis is down still
  // serves (503s, health) and the subscription completes when Redis comes back.
  const subscribed = hub.start();
  subscribed.catch((err: Error) =>
    logger.error({ err: err.message }, 'event subscriber failed; live progress relies on the SSE heartbeat re-reads'),
  );
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    subscribed.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), opts.subscribeTimeoutMs ?? 5000))),
  ]);
  clearTimeout(timer);
  if (!inTime)
    logger.warn(
      { channels: store.eventsChannels },
      'event subscriber not ready yet (Redis unreachable?); live progress starts when it connects',
    );
  const shutdown = new AbortController();
  const streams = new LiveSlots({
    max: config.sseMaxStreams,
    setting: 'SSE_MAX_STREAMS',
    what: 'live streams',
    code: 'too_many_streams',
    retryAfterSeconds: 15,
  });
  const waits = new LiveSlots({ max: config.maxWaits, setting: 'MAX_WAITS', what: 'waiting requests', code: 'too_many_waits' });
  gaugeOf(
    metrics,
    'llmconv_streams_active',
    'Open SSE streams of this producer by kind (conversation, run); all kinds share SSE_MAX_STREAMS.',
    streams,
  );
  gaugeOf(
    metrics,
    'llmconv_waits_active',
    'Requests this producer holds open while their work runs, by kind (wait: ?wait=true, generate); all share MAX_WAITS.',
    waits,
  );

  // Cancellation is the one terminal transition a producer makes; count it beside the workers'.
  const countCancellations: Koa.Middleware = async (ctx, next) => {
    await next();
    if (ctx.method === 'DELETE' && ctx.status === 200 && DELETE_CONVERSATION.test(ctx.path)) {
      const body = ctx.body as { status?: string } | undefined;
      if (body?.status === 'cancelled') metrics.hooks.onTerminal('cancelled', 'cancelled');
    }
  };

  const board = createBoardMiddleware({
    queues: queues.all,
    cloudRateLimitMax: config.cloudRateLimitMax,
    username: config.boardUsername,
    password: config.boardPassword,
    apiKey: config.apiKey,
    ...(callers.multi ? { isAdminKey: (key: string) => callers.isAdminKey(key) } : {}),
  });

  return {
    metrics,
    hub,
    streams,
    waits,
    signal: shutdown.signal,
    before: [board, countCancellations],
    routers: [
      metricsRoute(metrics, { adminOnly: callers.multi }),
      eventsRoute({
        store,
        hub,
        logger,
        heartbeatMs: opts.heartbeatMs,
        streams,
        signal: shutdown.signal,
        prices: loadPriceTable(config.pricesFile, config.modelCatalogFile),
      }),
      conversationPageRoute(store),
      conversationsListRoute(store),
    ],
    close: async () => {
      shutdown.abort();
      await hub.close();
    },
  };
}

/** A gauge of `slots` by kind, read at scrape time. */
function gaugeOf(metrics: PipelineMetrics, name: string, help: string, slots: LiveSlots): void {
  if (metrics.registry.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    labelNames: ['kind'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [kind, n] of slots.kinds()) this.set({ kind }, n);
    },
  });
}
