/**
 * A worker host with everything it needs, written once for every process that runs workers
 * (`npm run worker`, the all-in-one stack, the benchmarks, the fault tests' worker processes):
 * the Redis connection, conversation store, queues, cancel registry, the two providers from config,
 * the local model check (a local worker refuses to start without its Ollama model, or pulls it,
 * warms it and publishes its Ollama's models) and the BullMQ workers of the given roles. `close()`
 * stops them in the order that loses nothing, and quickly when Redis is gone.
 *
 * @example
 * const workers = await startWorkers({ config, logger, hooks: metrics.hooks, name: os.hostname() });
 * // ...
 * await workers.close();
 */
import type { Redis } from 'ioredis';
import { ollamaPoolOf, type Config, type WorkerRole } from '../shared/config';
import type { Logger } from '../shared/logger';
import { duplicateConnection } from '../shared/redis-connection';
import { redisTargetOf } from '../shared/redis-target';
import type { OutageLog } from '../shared/redis-outage-log';
import type { PipelineQueues } from '../queue/pipeline-queues';
import type { ConversationStore } from '../store/conversation-store';
import type { LlmProvider } from '../providers/llm-provider';
import { unconfiguredProvider } from '../providers/create-providers';
import { createCloudBackend } from '../providers/provider-registry';
import type { OllamaPool } from '../providers/ollama-pool';
import { openRedis } from '../assembly/redis-connections';
import { openQueues } from '../assembly/queues';
import { buildStores, loadPrices } from '../assembly/stores';
import { openConfiguredArchive } from '../assembly/archive';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import { buildCloudProvider, buildLocalPool } from '../assembly/providers';
import { Shutdown } from '../assembly/shutdown';
import { CancelRegistry } from '../coordination/cancel-registry';
import type { LocalModelCheck } from './local-model-check';
import { startPoolModelCheck } from './pool-model-check';
import type { StepHooks } from './step-lifecycle';
import { assertQueueSafeRedis, startWorkerHost, type WorkerHost } from './worker-host';
import { BudgetGate } from './budget-gate';
import { checkShardLayout } from '../store/shard-layout';
import { ConfigError } from '../shared/errors';

export interface StartWorkersOptions {
  /** The process's config; the cloud role needs `apiGatewayUrl` (a ConfigError otherwise). */
  config: Config;
  logger: Logger;
  /** Roles to run; default `config.workerRoles`. */
  roles?: WorkerRole[];
  /**
   * A worker-style connection (maxRetriesPerRequest: null) owned by the caller. Default: one is
   * opened to `config.redisUrl` and closed by `close()`.
   */
  connection?: Redis;
  /** How long to wait for Redis before giving up, ms (only for an own connection). Default 30000. */
  readyTimeoutMs?: number;
  /** Listener for an own connection's `error` events (default none: ioredis reports them itself). */
  onRedisError?: (err: Error) => void;
  /** Queues to use (e.g. the ones the caller's metrics read). Default: new ones on the connection. */
  queues?: PipelineQueues;
  /** Step observers (metrics). */
  hooks?: StepHooks;
  /** Providers to use instead of the ones built from config (the benchmarks time them). */
  providers?: { cloud?: LlmProvider; local?: LlmProvider };
  /** Worker name shown in Bull Board. */
  name?: string;
  /** Refuse to start when Redis may evict keys. Default true. */
  checkRedisPolicy?: boolean;
  /**
   * Reports Redis outages of every connection, queue and worker at a bounded rate (one line, then
   * one per period). Default: errors go to `onRedisError` / the worker host's own log line.
   */
  outage?: OutageLog;
  /**
   * Check the local model at start (refuse naming `ollama pull`, or pull with OLLAMA_PULL), warm it
   * and publish the models of this Ollama. Default: when the local role runs on the provider built
   * from config.
   */
  checkLocalModel?: boolean;
  /** The archive to write (owned by the caller: the stack shares one with its producer). Default: ARCHIVE_URL's, opened here and closed by `close()`. */
  archive?: ArchiveStore;
}

export interface StartedWorkers {
  host: WorkerHost;
  store: ConversationStore;
  queues: PipelineQueues;
  cancels: CancelRegistry;
  connection: Redis;
  /** The local model check, when it runs (its `ready()` backs the worker's `/ready`). */
  modelCheck?: LocalModelCheck;
  /** The local model pool, when this process built it from config (its endpoints' state backs `/metrics`). */
  localPool?: OllamaPool;
  /** Closes the workers (active jobs get `timeoutMs` to finish), the cancel listener, the queues and an own connection. */
  close(timeoutMs?: number): Promise<void>;
}

/** Starts the worker host of `roles` with its store, queues, cancel registry and providers. */
export async function startWorkers(opts: StartWorkersOptions): Promise<StartedWorkers> {
  const { config, logger, outage } = opts;
  const roles = opts.roles ?? config.workerRoles;
  // Each part registers its close as it is opened: close() (or a failed start) undoes them in reverse.
  const stop = new Shutdown();
  try {
    // Providers first: a missing API_GATEWAY_URL (or OPENAI_BASE_URL) is a config error before anything connects.
    // The backends are CLOUD's and LOCAL's (providers/provider-registry.ts); the assembly wraps the cloud one with the limiter and fallbacks.
    const cloudBackend = opts.providers?.cloud ?? (roles.includes('cloud') ? createCloudBackend(config) : undefined);
    let conn = opts.connection;
    if (!conn) {
      const target = redisTargetOf(config);
      if (!target) throw new Error('startWorkers needs a connection, config.redisUrl or config.redisClusterNodes');
      conn = await openRedis('worker', target, {
        outage,
        onError: opts.onRedisError,
        readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
        stop,
      });
    }
    const connection = conn;
    const prices = loadPrices(config);
    const localPool =
      !opts.providers?.local && roles.includes('local') ? await buildLocalPool({ config, connection, logger, stop }) : undefined;
    const local = opts.providers?.local ?? localPool ?? unconfiguredProvider('local');
    // The limiter and fallbacks wrap the cloud role's provider (as the producer's /api/v1/generate's).
    const cloud = !roles.includes('cloud')
      ? (cloudBackend ?? unconfiguredProvider('cloud'))
      : buildCloudProvider({ config, connection, logger, backend: cloudBackend });
    const stores = buildStores(connection, config);
    const store = stores.conversations;
    // With an archive, finished conversations go there and leave Redis (ending/archive-finished.ts).
    const archive = opts.archive ?? (await openConfiguredArchive(config, stop));
    if (store.archiving && !archive) throw new Error('startWorkers: ARCHIVE_URL is set but no archive was opened');
    if (archive) store.useArchive(archive);
    const queues = opts.queues ?? openQueues(connection, config, { outage, stop });
    // Before anything else touches the queues or Ollama: a Redis that may evict jobs is refused.
    if (opts.checkRedisPolicy ?? true) await assertQueueSafeRedis(connection, logger);
    // A worker laid out for another number of shards than the deployment's would strand work; a
    // Redis that does not answer the check (e.g. a cluster node not owning the slot) shows in /ready.
    await checkShardLayout(connection, store.shards).catch((err: unknown) => {
      if (err instanceof ConfigError) throw err;
      logger.warn({ err: (err as Error).message }, 'REDIS_SHARDS not compared with the deployment (Redis did not answer)');
    });
    let modelCheck: LocalModelCheck | undefined;
    // Ollama's model check (refuse naming `ollama pull`, or pull; warm; publish). An OpenAI-compatible
    // server has no pull: the pool's probe (`GET /models`) keeps an endpoint without the model out instead.
    if (roles.includes('local') && config.localBackend !== 'openai' && (opts.checkLocalModel ?? !opts.providers?.local)) {
      const check = await startPoolModelCheck({
        endpoints: ollamaPoolOf(config).map((e) => e.url),
        model: config.ollamaModel,
        pull: config.ollamaPull,
        keepAlive: config.ollamaKeepAlive,
        warmTimeoutMs: config.ollamaTimeoutMs,
        logger,
        registry: stores.localModels,
      });
      modelCheck = check;
      stop.add('local model check', () => check.stop());
    }
    const cancels = new CancelRegistry();
    const sub = duplicateConnection(connection, {}, { shardedSubscribers: store.shardedEvents });
    outage?.watch(sub);
    // Unsubscribing waits on Redis: with Redis gone, just drop the subscriber's socket.
    stop.add('cancel listener', () => (sub.status === 'ready' ? cancels.close() : sub.disconnect()));
    await cancels.listen(sub, store.eventsChannels, store.shardedEvents);
    const host = await startWorkerHost({
      deps: {
        config,
        store,
        queues,
        cloud,
        local,
        cancels,
        logger,
        hooks: opts.hooks,
        prices,
        budget: new BudgetGate(stores.budgets, config, prices),
        quirks: stores.quirks,
        ...(archive && store.archiving ? { archive } : {}),
      },
      connection,
      roles,
      name: opts.name,
      checkRedisPolicy: false,
      onError: outage ? (err, role) => outage.error(err, { role }) : undefined,
    });
    let graceMs = 10_000;
    stop.add('workers', async () => {
      // Active jobs get `graceMs`, then are left to stall recovery. With Redis gone BullMQ's
      // close still waits on it, so it gets one second and no more.
      const up = connection.status === 'ready';
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([host.close(up ? graceMs : 0), new Promise((r) => (timer = setTimeout(r, (up ? graceMs : 0) + 1000)))]);
      clearTimeout(timer);
    });
    return {
      host,
      store,
      queues,
      cancels,
      connection,
      modelCheck,
      localPool,
      async close(timeoutMs = 10_000) {
        graceMs = timeoutMs;
        await stop.close();
      },
    };
  } catch (err) {
    await stop.close();
    throw err;
  }
}
