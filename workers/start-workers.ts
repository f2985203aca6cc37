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
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import type { OutageLog } from '../shared/redis-outage-log';
import { LocalModelRegistry } from '../store/local-models';
import { PipelineQueues } from '../queue/pipeline-queues';
import { ConversationStore } from '../store/conversation-store';
import type { LlmProvider } from '../providers/llm-provider';
import { unconfiguredProvider } from '../providers/create-providers';
import { createCloudBackend, createLocalBackend } from '../providers/provider-registry';
import type { OllamaPool } from '../providers/ollama-pool';
import { SlotLeases } from '../coordination/slot-leases';
import { CloudLimiter } from '../coordination/cloud-limiter';
import { createLimitedCloudProvider } from '../providers/limited-cloud-provider';
import { createFallbackCloudProvider } from '../providers/fallback-cloud-provider';
import { CancelRegistry } from '../coordination/cancel-registry';
import type { LocalModelCheck } from './local-model-check';
import { startPoolModelCheck } from './pool-model-check';
import type { StepHooks } from './step-lifecycle';
import { assertQueueSafeRedis, startWorkerHost, type WorkerHost } from './worker-host';
import { BudgetGate } from './budget-gate';
import { BudgetStore } from '../store/budget-store';
import { ModelQuirks } from '../store/model-quirks';
import { loadPriceTable } from '../cost/price-table';

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
  const { config, logger } = opts;
  const roles = opts.roles ?? config.workerRoles;
  const ownConnection = !opts.connection;
  let connection = opts.connection;
  const undo: (() => Promise<unknown>)[] = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await u().catch(() => undefined);
  };
  try {
    // Providers first: a missing API_GATEWAY_URL (or OPENAI_BASE_URL) is a config error before anything connects.
    // The backends are CLOUD's and LOCAL's (providers/provider-registry.ts); the limiter and fallbacks below wrap any of them.
    let cloud = opts.providers?.cloud ?? (roles.includes('cloud') ? createCloudBackend(config) : unconfiguredProvider('cloud'));
    if (!connection) {
      if (!config.redisUrl) throw new Error('startWorkers needs a connection or config.redisUrl');
      const own = createWorkerConnection(config.redisUrl);
      if (opts.onRedisError) own.on('error', opts.onRedisError);
      opts.outage?.watch(own);
      connection = own;
      undo.push(async () => own.disconnect());
      await waitReady(own, opts.readyTimeoutMs ?? 30_000);
    }
    const conn = connection;
    const prices = loadPriceTable(config.pricesFile, config.modelCatalogFile);
    let localPool: OllamaPool | undefined;
    let leases: SlotLeases | undefined;
    if (!opts.providers?.local && roles.includes('local')) {
      const own = new SlotLeases(conn, config.queuePrefix);
      leases = own;
      undo.push(() => own.close());
      await own.listen();
      const pool = createLocalBackend(config, own, logger);
      undo.push(async () => pool.close());
      localPool = pool;
    }
    const local = opts.providers?.local ?? localPool ?? unconfiguredProvider('local');
    if (roles.includes('cloud') && Object.keys(config.cloudLimits).length > 0) {
      cloud = createLimitedCloudProvider({
        inner: cloud,
        limiter: new CloudLimiter(conn, config.queuePrefix),
        limits: config.cloudLimits,
        defaultModel: config.bedrockModelId,
        defaultMaxTokens: config.defaultMaxTokens,
        logger,
      });
    }
    // Outermost: each model of a fallback list goes through the limiter on its own.
    if (roles.includes('cloud')) {
      cloud = createFallbackCloudProvider({ inner: cloud, throttleRun: config.cloudFallbackAfterThrottles, logger });
    }
    const store = ConversationStore.fromConfig(conn, config);
    const ownQueues = !opts.queues;
    const queues = opts.queues ?? PipelineQueues.fromConfig(conn, config);
    if (ownQueues) undo.push(() => queues.close());
    // Before anything else touches the queues or Ollama: a Redis that may evict jobs is refused.
    if (opts.checkRedisPolicy ?? true) await assertQueueSafeRedis(conn, logger);
    const outage = opts.outage;
    if (outage) for (const q of queues.all) q.on('error', (err: Error) => outage.error(err, { queue: q.name }));
    let modelCheck: LocalModelCheck | undefined;
    // Ollama's model check (refuse naming `ollama pull`, or pull; warm; publish). An OpenAI-compatible
    // server has no pull: the pool's probe (`GET /models`) keeps an endpoint without the model out instead.
    if (roles.includes('local') && config.localBackend !== 'openai' && (opts.checkLocalModel ?? !opts.providers?.local)) {
      modelCheck = await startPoolModelCheck({
        endpoints: ollamaPoolOf(config).map((e) => e.url),
        model: config.ollamaModel,
        pull: config.ollamaPull,
        keepAlive: config.ollamaKeepAlive,
        warmTimeoutMs: config.ollamaTimeoutMs,
        logger,
        registry: new LocalModelRegistry(conn, config.queuePrefix),
      });
      const check = modelCheck;
      undo.push(async () => check.stop());
    }
    const cancels = new CancelRegistry();
    const sub = conn.duplicate();
    outage?.watch(sub);
    await cancels.listen(sub, store.eventsChannel);
    // Unsubscribing waits on Redis: with Redis gone, just drop the subscriber's socket.
    const closeCancels = () => (sub.status === 'ready' ? cancels.close() : Promise.resolve(sub.disconnect()));
    undo.push(closeCancels);
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
        budget: new BudgetGate(new BudgetStore(conn), config, prices),
        quirks: new ModelQuirks(conn, config.queuePrefix),
      },
      connection: conn,
      roles,
      name: opts.name,
      checkRedisPolicy: false,
      onError: outage ? (err, role) => outage.error(err, { role }) : undefined,
    });
    return {
      host,
      store,
      queues,
      cancels,
      connection: conn,
      modelCheck,
      localPool,
      async close(timeoutMs = 10_000) {
        // Active jobs get `timeoutMs`, then are left to stall recovery. With Redis gone BullMQ's
        // close still waits on it, so it gets one second and no more.
        const up = conn.status === 'ready';
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([host.close(up ? timeoutMs : 0), new Promise((r) => (timer = setTimeout(r, (up ? timeoutMs : 0) + 1000)))]);
        clearTimeout(timer);
        modelCheck?.stop();
        localPool?.close();
        await leases?.close();
        await closeCancels();
        if (ownQueues) await queues.close();
        // QUIT would wait for a Redis that is down; then just drop the socket.
        if (ownConnection) await (conn.status === 'ready' ? conn.quit().catch(() => conn.disconnect()) : conn.disconnect());
      },
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}
