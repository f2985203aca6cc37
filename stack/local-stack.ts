/**
 * The whole pipeline on one host, in one process: Redis (embedded unless REDIS_URL), the Bedrock
 * and Ollama emulators (unless real endpoints are configured), the local API Gateway host running
 * the real Lambda handler (unless API_GATEWAY_URL), the workers and the producer. Used by
 * `npm start`, `npm run demo`, the integration tests and the benchmarks.
 *
 * @example
 * const stack = await startLocalStack({ env: { PORT: '0' } });
 * console.log(stack.producerUrl);
 * await stack.close();
 */
import path from 'node:path';
import type Router from '@koa/router';
import type Koa from 'koa';
import { refuseOpenBind } from '../shared/bind-guard';
import { checkPortFree, checkRedisReachable } from '../shared/startup-checks';
import { loadConfig, WORKER_ROLES, type Config, type Env, type WorkerRole } from '../shared/config';
import type { ConversationStore } from '../store/conversation-store';
import { startEmbeddedRedis, type EmbeddedRedis, type SupervisorEvent } from '../shared/embedded-redis';
import { createLogger, type Logger } from '../shared/logger';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { describeTarget, redisTargetOf } from '../shared/redis-target';
import { createOutageLog } from '../shared/redis-outage-log';
import { startBedrockEmulator, type EmulatorHandle } from '../emulators/bedrock-emulator';
import { loadModelCatalog } from '../shared/model-catalog';
import { startOllamaEmulator } from '../emulators/ollama-emulator';
import { startOpenAiEmulator } from '../emulators/openai-emulator';
import { emulatorLatencyMs } from '../emulators/emulator-config';
import type { LocalGateway } from '../lambda/local-gateway';
import { startProducer } from '../producer/start-producer';
import { hasAuthConfigured } from '../producer/api-key-auth';
import type { PipelineMetrics } from '../shared/metrics';
import { buildMetrics } from '../assembly/metrics';
import { openQueues } from '../assembly/queues';
import { openRedis } from '../assembly/redis-connections';
import { buildStores } from '../assembly/stores';
import { Shutdown } from '../assembly/shutdown';
import { createCloudBackend } from '../providers/provider-registry';
import type { StepHooks } from '../workers/step-lifecycle';
import { startWorkers } from '../workers/start-workers';
import { openConfiguredArchive } from '../assembly/archive';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import type { WorkerHost } from '../workers/worker-host';
import { lockDataDir, type DataDirLock } from './data-dir-lock';
import { startInProcessGateway } from '../lambda/in-process-gateway';
import { defaultRedisDataDir } from './redis-data-dir';
import { resumeUnfinished, type ResumeReport } from './resume';
import { chooseCloud, localReason, type CloudChoice } from './backend-choice';

export interface LocalStackOptions {
  /** Environment to load config from (default `process.env`). */
  env?: Env;
  /** Config fields to override after loading. */
  overrides?: Partial<Config>;
  logger?: Logger;
  /** Worker roles to run in this process (default all; `[]` for none). */
  roles?: WorkerRole[];
  /** Start the producer HTTP server (default true). */
  producer?: boolean;
  /** Latency of the emulators in ms (default EMULATOR_LATENCY_MS). */
  emulatorLatencyMs?: number;
  hooks?: StepHooks;
  /** Extra producer routers / middleware (Bull Board, metrics, events and the page are built in). */
  routers?: Router[];
  before?: Koa.Middleware[];
  /** SSE heartbeat interval, ms (default 15000). */
  sseHeartbeatMs?: number;
  /**
   * The embedded Redis's data (no REDIS_URL): `persistent` keeps it in REDIS_DATA_DIR or the
   * user's state dir (`npm start`); `temp` (default: demo, tests) in a throw-away dir unless
   * REDIS_DATA_DIR is set.
   */
  embeddedData?: 'persistent' | 'temp';
  /** The embedded redis-server keeps dying and the supervisor gave up (default: log it). */
  onRedisGaveUp?(error: Error, logTail: string): void;
  /**
   * Model ids the Bedrock emulator does not find in the catalogue: `refuse` answers them as Bedrock
   * does (400 ValidationException "The provided model identifier is invalid."; `npm start`, the
   * demo); `accept` (default: the tests' made-up ids) serves any id.
   */
  unknownModels?: 'accept' | 'refuse';
  /** Grace for active jobs at close before they are left to stall recovery, ms (default 3000). */
  closeGraceMs?: number;
}

export type Backend = 'real' | 'emulated' | 'embedded' | 'external' | 'local gateway';

export interface LocalStack {
  config: Config;
  /** REDIS_URL (or the embedded one), or `cluster host:port,…` for REDIS_CLUSTER_NODES. */
  redisUrl: string;
  producerUrl?: string;
  /** The gateway the cloud side calls ('' under CLOUD=bedrock: no gateway, the workers call Bedrock). */
  gatewayUrl: string;
  bedrock?: EmulatorHandle;
  ollama?: EmulatorHandle;
  /** The OpenAI-compatible emulator, started under LOCAL=openai without OPENAI_BASE_URL. */
  openai?: EmulatorHandle;
  redis?: EmbeddedRedis;
  /** Where the embedded Redis keeps its AOF, and whether it is kept after close. */
  redisData?: { dir: string; persistent: boolean };
  /** What start-up found left from a previous run (embedded persistent data only). */
  resumed?: ResumeReport;
  store: ConversationStore;
  queues: PipelineQueues;
  workerHost?: WorkerHost;
  /** The archive of finished conversations (ARCHIVE_URL, or SQLite beside the embedded Redis), when there is one. */
  archive?: ArchiveStore;
  /** The process's metrics (served at the producer's `/metrics`; workers' hooks feed it). */
  metrics: PipelineMetrics;
  /** Why each side runs what it runs (stack/backend-choice.ts), for the banner. */
  why: { cloud: CloudChoice; local: string };
  backends: { redis: Backend; gateway: Backend | 'none'; bedrock: Backend; ollama: Backend | 'none'; openai: Backend | 'none' };
  logger: Logger;
  close(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const config: Config = { ...loadConfig(opts.env ?? process.env), ...opts.overrides };
  // Before Redis or any emulator is started: a producer off loopback without a key is refused (SECURITY.md).
  if (opts.producer ?? true) {
    refuseOpenBind({
      what: 'producer',
      hostKey: 'HOST',
      host: config.host,
      keyName: 'API_KEY',
      keySet: hasAuthConfigured(config),
      allowUnauthenticated: config.allowUnauthenticated,
    });
  }
  // Before Redis, the emulators or the workers start: a taken PORT and a REDIS_URL that never
  // answers stop the stack at once, naming the setting (shared/startup-checks.ts).
  if (opts.producer ?? true) await checkPortFree({ setting: 'PORT', host: config.host, port: config.port });
  const externalRedis = redisTargetOf(config);
  if (externalRedis) await checkRedisReachable(externalRedis);
  const logger = opts.logger ?? createLogger({ level: config.logLevel, name: 'stack' });
  // Each step is bounded: with Redis gone, a quit() or a worker close could otherwise wait forever.
  const STEP_BOUND_MS = 1000;
  // Each part registers its close as it is opened; close() (or a failed start) runs them in reverse, once.
  const stop = new Shutdown({ logger, boundMs: STEP_BOUND_MS });
  const close = () => stop.close();
  const outage = createOutageLog(logger, 'stack');
  stop.add('outage log', () => outage.close());
  try {
    let redis: EmbeddedRedis | undefined;
    let redisData: LocalStack['redisData'];
    let lock: DataDirLock | undefined;
    if (!externalRedis) {
      const dir = config.redisDataDir ?? (opts.embeddedData === 'persistent' ? defaultRedisDataDir(opts.env ?? process.env) : undefined);
      if (dir) {
        lock = await lockDataDir(dir);
        stop.add('data dir lock', () => lock!.release());
        if (lock.tookOverFrom) logger.warn({ dir, previousOwner: lock.tookOverFrom }, 'took over the lock of a stack that is gone');
      }
      const onEvent = (ev: SupervisorEvent) => {
        if (ev.kind === 'down')
          logger.error(
            { redisPid: ev.pid, code: ev.code, signal: ev.signal, attempt: ev.attempt, restartInMs: ev.restartInMs },
            `embedded redis-server died (${ev.signal ?? `exit ${ev.code}`}); restarting in ${ev.restartInMs} ms`,
          );
        else if (ev.kind === 'restarted') {
          lock?.setRedisPid(ev.pid);
          logger.warn(
            { redisPid: ev.pid, afterMs: ev.afterMs, attempt: ev.attempt, aof: ev.aofLoaded ?? 'no AOF to load' },
            `embedded redis-server restarted after ${ev.afterMs} ms; ${ev.aofLoaded ?? 'no AOF to load'}`,
          );
        } else
          logger.error(
            { attempt: ev.attempt, err: ev.error, retryInMs: ev.retryInMs },
            `embedded redis-server restart failed; retrying in ${ev.retryInMs} ms`,
          );
      };
      const onGiveUp =
        opts.onRedisGaveUp ??
        ((err: Error, tail: string) => logger.fatal({ err: err.message, redisLog: tail }, 'embedded redis-server keeps dying; giving up'));
      redis = await startEmbeddedRedis({ dir, supervise: { onEvent, onGiveUp } });
      lock?.setRedisPid(redis.process.pid);
      redisData = { dir: redis.dir, persistent: dir !== undefined };
      logger.info(
        { redisPid: redis.process.pid, port: redis.port, dir: redis.dir, persistent: redisData.persistent },
        'embedded redis-server ready',
      );
      // Redis's own AOF flush on stop gets longer.
      stop.add('embedded redis', () => redis!.stop(), 3000);
    }
    const redisTarget = externalRedis ?? redis!.url;
    const redisUrl = typeof redisTarget === 'string' ? redisTarget : describeTarget(redisTarget);
    const latencyMs = opts.emulatorLatencyMs ?? emulatorLatencyMs(opts.env ?? process.env);

    let bedrock: EmulatorHandle | undefined;
    let bedrockEndpoint = config.bedrockEndpoint;
    // CLOUD and LOCAL decide (stack/backend-choice.ts): credentials alone never mean real Bedrock;
    // an endpoint the configuration names (API_GATEWAY_URL, BEDROCK_ENDPOINT, the SDK's
    // AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL) is never shadowed by an emulator.
    const cloudChoice = chooseCloud(config, opts.env ?? process.env, opts.overrides);
    if (cloudChoice.emulate) {
      bedrock = await startBedrockEmulator({
        latencyMs,
        catalog: loadModelCatalog(config.modelCatalogFile),
        region: config.awsRegion,
        unknownModels: opts.unknownModels,
      });
      stop.add('bedrock emulator', () => bedrock!.close());
      bedrockEndpoint = bedrock.url;
    }
    let gateway: LocalGateway | undefined;
    let gatewayUrl = cloudChoice.emulate ? undefined : config.apiGatewayUrl;
    if (!gatewayUrl && (cloudChoice.emulate || config.cloudBackend !== 'bedrock')) {
      gateway = await startInProcessGateway({ config: { ...config, bedrockEndpoint }, logger, host: '127.0.0.1' });
      stop.add('local gateway', () => gateway!.close());
      gatewayUrl = gateway.url;
    }
    let ollama: EmulatorHandle | undefined;
    let ollamaHost = config.ollamaHost;
    // LOCAL picks the local backend: `emulated` always runs the Ollama emulator, `ollama` when no
    // OLLAMA_HOST is set, `openai` the OpenAI-compatible emulator when no OPENAI_BASE_URL is set.
    if (config.localBackend === 'emulated' || (config.localBackend === 'ollama' && !ollamaHost)) {
      ollama = await startOllamaEmulator({ latencyMs, models: [config.ollamaModel, 'llama3.2', 'llama3.2:latest', 'llama2:latest'] });
      stop.add('ollama emulator', () => ollama!.close());
      ollamaHost = ollama.url;
    }
    let openai: EmulatorHandle | undefined;
    let openaiBaseUrl = config.openaiBaseUrl;
    if (config.localBackend === 'openai' && !openaiBaseUrl) {
      openai = await startOpenAiEmulator({ latencyMs, models: [config.openaiModel, 'llama3.2'], apiKey: config.openaiApiKey });
      stop.add('openai emulator', () => openai!.close());
      openaiBaseUrl = `${openai.url}/v1`;
    }
    // The archive (ARCHIVE_URL): unset beside an embedded Redis, SQLite next to its data dir
    // (persistent: `<state>/llmconv/archive.sqlite`; the demo's temp dir: inside it, gone with it).
    const archiveTarget: Config['archive'] =
      config.archive ??
      (redis
        ? {
            kind: 'sqlite',
            file: redisData?.persistent ? path.join(path.dirname(redis.dir), 'archive.sqlite') : path.join(redis.dir, 'archive.sqlite'),
          }
        : undefined);
    const archive = await openConfiguredArchive({ archive: archiveTarget }, stop);
    const effective: Config = { ...config, apiGatewayUrl: gatewayUrl, ollamaHost, bedrockEndpoint, openaiBaseUrl, archive: archiveTarget };

    const workerConn = await openRedis('worker', redisTarget, { outage, stop });
    const workerQueues = openQueues(workerConn, config, { outage, stop });
    // Before any worker runs: nothing else can hold this private Redis's jobs (the data dir is
    // locked), so jobs left active by the last stop are handed to stall recovery at once.
    const resumed = redisData?.persistent
      ? await resumeUnfinished(workerConn, buildStores(workerConn, config).conversations, workerQueues)
      : undefined;
    if (resumed && (resumed.unfinished || resumed.activeReleased || resumed.queuedRequeued))
      logger.warn({ ...resumed }, `resuming ${resumed.unfinished} unfinished conversations from ${redisData!.dir}`);
    const cloud = createCloudBackend(effective);
    const metrics = buildMetrics(effective, { queues: workerQueues.all });

    let workerHost: WorkerHost | undefined;
    const roles = opts.roles ?? [...WORKER_ROLES];
    if (roles.length > 0) {
      const workers = await startWorkers({
        config: effective,
        logger,
        roles,
        connection: workerConn,
        queues: workerQueues,
        hooks: metrics.observe(opts.hooks),
        providers: { cloud },
        outage,
        ...(archive ? { archive } : {}),
      });
      // Active jobs get a short grace, then are left to stall recovery (none when Redis is gone).
      const grace = opts.closeGraceMs ?? 3000;
      stop.add('workers', () => workers.close(grace), grace + STEP_BOUND_MS);
      workerHost = workers.host;
    }

    const producerConn = await openRedis('producer', redisTarget, { outage, stop });

    let producerUrl: string | undefined;
    let store: ConversationStore;
    let queues: PipelineQueues;
    if (opts.producer ?? true) {
      const producer = await startProducer({
        config: effective,
        logger,
        connection: producerConn,
        cloud,
        metrics,
        heartbeatMs: opts.sseHeartbeatMs,
        routers: opts.routers,
        before: opts.before,
        closeGraceMs: 0,
        outage,
        ...(archive ? { archive } : {}),
      });
      stop.add('producer', () => producer.close());
      ({ store, queues } = producer);
      producerUrl = producer.url;
    } else {
      store = buildStores(producerConn, effective).conversations;
      if (archive) store.useArchive(archive);
      queues = openQueues(producerConn, config, { outage, stop });
    }

    return {
      config: effective,
      redisUrl,
      producerUrl,
      gatewayUrl: gatewayUrl ?? '',
      bedrock,
      ollama,
      openai,
      redis,
      redisData,
      resumed,
      store,
      queues,
      workerHost,
      ...(archive ? { archive } : {}),
      metrics,
      logger,
      why: { cloud: cloudChoice, local: localReason(config) },
      backends: {
        redis: redis ? 'embedded' : 'external',
        gateway: gateway ? 'local gateway' : gatewayUrl ? 'real' : 'none',
        bedrock: bedrock ? 'emulated' : 'real',
        ollama: ollama ? 'emulated' : config.localBackend === 'ollama' ? 'real' : 'none',
        openai: openai ? 'emulated' : config.localBackend === 'openai' ? 'real' : 'none',
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
