/**
 * The producer with everything it needs, written once for `npm run producer` and the all-in-one
 * stack: store and queues on a producer-style connection, the operator surface (Bull Board,
 * metrics, live events, pages), the cloud provider of `/api/v1/generate` (the cloud worker's, with
 * its limiter and fallbacks), the Koa app and its HTTP server, all from the assembly (assembly/).
 * `close()` ends the live streams first (they would hold the server open), then the server, the
 * queues and an own connection.
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
import { redisTargetOf } from '../shared/redis-target';
import { createOutageLog, type OutageLog } from '../shared/redis-outage-log';
import type { PipelineQueues } from '../queue/pipeline-queues';
import type { ConversationStore } from '../store/conversation-store';
import type { LlmProvider } from '../providers/llm-provider';
import { createCloudBackend } from '../providers/provider-registry';
import { openRedis } from '../assembly/redis-connections';
import { openQueues } from '../assembly/queues';
import { buildStores } from '../assembly/stores';
import { openConfiguredArchive } from '../assembly/archive';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import { buildCloudProvider } from '../assembly/providers';
import { Shutdown } from '../assembly/shutdown';
import { createApp } from './app';
import { startOperatorSurface, type OperatorSurface } from './operator-surface';
import { CallerKeys } from './caller-keys';
import { CallerStore } from '../store/caller-store';

export interface StartProducerOptions {
  /** The process's config; `/api/v1/generate` needs `apiGatewayUrl` unless `cloud` is given. */
  config: Config;
  /** The archive reads fall through to (owned by the caller: the stack shares one with its workers). Default: ARCHIVE_URL's, opened here and closed by `close()`. */
  archive?: ArchiveStore;
  logger: Logger;
  /** A producer-style connection owned by the caller. Default: one to `config.redisUrl`, closed by `close()`. */
  connection?: Redis;
  /**
   * The cloud backend for `/api/v1/generate`. Default: CLOUD's from config. Either way it goes
   * behind the same limiter (CLOUD_LIMITS) and fallbacks as the cloud worker's (assembly/providers.ts).
   */
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
  const backend = opts.cloud ?? createCloudBackend(config);
  // Each part registers its close as it is opened: close() (or a failed start) undoes them in reverse.
  const stop = new Shutdown();
  let conn = opts.connection;
  if (!conn) {
    const target = redisTargetOf(config);
    if (!target) throw new Error('startProducer needs a connection, config.redisUrl or config.redisClusterNodes');
    // No log of the caller's: one of its own, so repeated errors are a line per interval, never one each.
    let outage = opts.outage;
    if (!outage) {
      const own = createOutageLog(logger, 'producer');
      stop.add('outage log', () => own.close());
      outage = own;
    }
    conn = await openRedis('producer', target, { outage, readyTimeoutMs: false, stop });
  }
  const redis = conn;
  const store = buildStores(redis, config).conversations;
  // Reads fall through to the archive once Redis let a finished conversation go (ARCHIVE_URL).
  const archive =
    opts.archive ??
    (await openConfiguredArchive(config, stop).catch(async (err: unknown) => {
      await stop.close();
      throw err;
    }));
  if (archive) store.useArchive(archive);
  const queues = openQueues(redis, config, { outage: opts.outage, stop });
  const cloud = buildCloudProvider({ config, connection: redis, logger, backend });
  let operations: OperatorSurface;
  let server: Server;
  try {
    // The file's maxActive and budgets, where the stores' scripts and the workers read them.
    if (callers.multi) {
      await new CallerStore(redis, store.shards)
        .syncLimits(callers.entries)
        .catch((err: Error) =>
          logger.warn(
            { err: err.message },
            'API_KEYS_FILE limits (maxActive, budget) not written to Redis yet: restart the producer once Redis is reachable',
          ),
        );
    }
    const operator = await startOperatorSurface({
      config,
      redis,
      store,
      queues,
      logger,
      metrics: opts.metrics,
      heartbeatMs: opts.heartbeatMs,
      callers,
    });
    operations = operator;
    let closeHttp: (() => Promise<void>) | undefined;
    // The live streams end first (they would hold the server open), then the server.
    stop.add('live streams and http server', async () => {
      await operator.close();
      await closeHttp?.();
    });
    const app = createApp({
      config,
      redis,
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
    });
    const listening = server;
    closeHttp = () => closeServer(listening, opts.closeGraceMs ?? 5000);
  } catch (err) {
    await stop.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    server,
    url,
    store,
    queues,
    operator: operations,
    close: () => stop.close(),
  };
}

/** Stops accepting, then ends busy connections after `graceMs` (at once when 0). */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    if (graceMs <= 0) server.closeAllConnections();
    else setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}
