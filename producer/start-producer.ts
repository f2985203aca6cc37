/**
 * The producer with everything it needs, written once for `npm run producer` and the all-in-one
 * stack: store and queues on a producer-style connection, the operator surface (Bull Board,
 * metrics, live events, pages), the Koa app and its HTTP server. `close()` ends the live streams
 * first (they would hold the server open), then the server, the queues and an own connection.
 *
 * @example
 * const producer = await startProducer({ config, logger });
 * console.log(producer.url);
 * await producer.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import type { PipelineMetrics } from '../shared/metrics';
import { isLoopbackHost, refuseOpenBind } from '../shared/bind-guard';
import { hasAuthConfigured } from './api-key-auth';
import { createProducerConnection } from '../shared/redis-connection';
import type { OutageLog } from '../shared/redis-outage-log';
import { PipelineQueues } from '../queue/pipeline-queues';
import { ConversationStore } from '../store/conversation-store';
import type { LlmProvider } from '../providers/llm-provider';
import { createCloudBackend } from '../providers/provider-registry';
import { createApp } from './app';
import { startOperatorSurface, type OperatorSurface } from './operator-surface';
import { CallerKeys } from './caller-keys';
import { CallerStore } from '../store/caller-store';

export interface StartProducerOptions {
  /** The process's config; `/api/v1/generate` needs `apiGatewayUrl` unless `cloud` is given. */
  config: Config;
  logger: Logger;
  /** A producer-style connection owned by the caller. Default: one to `config.redisUrl`, closed by `close()`. */
  connection?: Redis;
  /** The cloud path for `/api/v1/generate`. Default: the cloud client to API_GATEWAY_URL. */
  cloud?: LlmProvider;
  /** Metrics to serve (e.g. shared with in-process workers). */
  metrics?: PipelineMetrics;
  /** SSE heartbeat interval, ms. */
  heartbeatMs?: number;
  /** Extra routers and middleware (before auth). */
  routers?: Router[];
  before?: Koa.Middleware[];
  /** How long busy connections get once the server stops, ms. Default 5000. */
  closeGraceMs?: number;
  /** Reports Redis outages of the connection and queues at a bounded rate. Default: one warning per error. */
  outage?: OutageLog;
}

export interface StartedProducer {
  server: Server;
  /** `http://host:port` the server listens on. */
  url: string;
  store: ConversationStore;
  queues: PipelineQueues;
  operator: OperatorSurface;
  close(): Promise<void>;
}

/** Starts the producer's HTTP API on `config.port` / `config.host`. */
export async function startProducer(opts: StartProducerOptions): Promise<StartedProducer> {
  const { config, logger } = opts;
  // A bad API_KEYS_FILE stops start-up here, naming the key (before Redis is touched).
  const callers = CallerKeys.fromConfig(config);
  // Off loopback without a key is refused before anything is opened (SECURITY.md).
  refuseOpenBind({
    what: 'producer',
    hostKey: 'HOST',
    host: config.host,
    keyName: 'API_KEY',
    keySet: hasAuthConfigured(config),
    allowUnauthenticated: config.allowUnauthenticated,
  });
  if (!hasAuthConfigured(config) && !isLoopbackHost(config.host)) {
    logger.warn(
      { host: config.host },
      'producer serves without a key off loopback (ALLOW_UNAUTHENTICATED=true): anyone who reaches it can start, read and cancel work',
    );
  }
  const cloud = opts.cloud ?? createCloudBackend(config);
  const ownConnection = !opts.connection;
  let redis = opts.connection;
  if (!redis) {
    if (!config.redisUrl) throw new Error('startProducer needs a connection or config.redisUrl');
    redis = createProducerConnection(config.redisUrl);
    if (opts.outage) opts.outage.watch(redis);
    else redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  }
  const conn = redis;
  const store = ConversationStore.fromConfig(conn, config);
  const queues = PipelineQueues.fromConfig(conn, config);
  const outage = opts.outage;
  if (outage) for (const q of queues.all) q.on('error', (err: Error) => outage.error(err, { queue: q.name }));
  const closeOwn = async () => {
    await queues.close();
    if (ownConnection) await conn.quit().catch(() => conn.disconnect());
  };
  let operations: OperatorSurface;
  let server: Server;
  try {
    // The file's maxActive and budgets, where the stores' scripts and the workers read them.
    if (callers.multi) {
      await new CallerStore(conn, config.queuePrefix)
        .syncLimits(callers.entries)
        .catch((err: Error) =>
          logger.warn(
            { err: err.message },
            'API_KEYS_FILE limits (maxActive, budget) not written to Redis yet: restart the producer once Redis is reachable',
          ),
        );
    }
    operations = await startOperatorSurface({
      config,
      redis: conn,
      store,
      queues,
      logger,
      metrics: opts.metrics,
      heartbeatMs: opts.heartbeatMs,
      callers,
    });
    const app = createApp({
      config,
      redis: conn,
      store,
      queues,
      cloud,
      logger,
      callers,
      hub: operations.hub,
      streams: operations.streams,
      waits: operations.waits,
      signal: operations.signal,
      routers: [...operations.routers, ...(opts.routers ?? [])],
      before: [...operations.before, ...(opts.before ?? [])],
    });
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once('error', reject);
    }).catch(async (err: unknown) => {
      await operations.close();
      throw err;
    });
  } catch (err) {
    await closeOwn();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const graceMs = opts.closeGraceMs ?? 5000;
  return {
    server,
    url,
    store,
    queues,
    operator: operations,
    async close() {
      await operations.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (graceMs <= 0) server.closeAllConnections();
        else setTimeout(() => server.closeAllConnections(), graceMs).unref();
      });
      await closeOwn();
    },
  };
}
