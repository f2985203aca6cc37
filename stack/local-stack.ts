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
import type Router from '@koa/router';
import type Koa from 'koa';
import { loadConfig, WORKER_ROLES, type Config, type Env, type WorkerRole } from '../shared/config';
import { ConversationStore } from '../store/conversation-store';
import { startEmbeddedRedis, type EmbeddedRedis } from '../shared/embedded-redis';
import { createLogger, type Logger } from '../shared/logger';
import { PipelineQueues } from '../queue/pipeline-queues';
import { createProducerConnection, createWorkerConnection, waitReady } from '../shared/redis-connection';
import { startBedrockEmulator, type EmulatorHandle } from '../emulators/bedrock-emulator';
import { startOllamaEmulator } from '../emulators/ollama-emulator';
import { emulatorLatencyMs } from '../emulators/emulator-config';
import type { LocalGateway } from '../emulators/api-gateway-emulator';
import { startProducer } from '../producer/start-producer';
import { createMetrics, type PipelineMetrics } from '../shared/metrics';
import { createCloudProvider } from '../providers/create-providers';
import type { StepHooks } from '../workers/step-lifecycle';
import { startWorkers } from '../workers/start-workers';
import type { WorkerHost } from '../workers/worker-host';
import { startInProcessGateway } from './in-process-gateway';

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
}

export type Backend = 'real' | 'emulated' | 'embedded' | 'external' | 'local gateway';

export interface LocalStack {
  config: Config;
  redisUrl: string;
  producerUrl?: string;
  gatewayUrl: string;
  bedrock?: EmulatorHandle;
  ollama?: EmulatorHandle;
  redis?: EmbeddedRedis;
  store: ConversationStore;
  queues: PipelineQueues;
  workerHost?: WorkerHost;
  /** The process's metrics (served at the producer's `/metrics`; workers' hooks feed it). */
  metrics: PipelineMetrics;
  backends: { redis: Backend; gateway: Backend; bedrock: Backend; ollama: Backend };
  logger: Logger;
  close(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const config: Config = { ...loadConfig(opts.env ?? process.env), ...opts.overrides };
  const logger = opts.logger ?? createLogger({ level: config.logLevel, name: 'stack' });
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
  };
  try {
    let redis: EmbeddedRedis | undefined;
    if (!config.redisUrl) {
      redis = await startEmbeddedRedis();
      closers.push(() => redis!.stop());
    }
    const redisUrl = config.redisUrl ?? redis!.url;
    const latencyMs = opts.emulatorLatencyMs ?? emulatorLatencyMs(opts.env ?? process.env);

    let bedrock: EmulatorHandle | undefined;
    let bedrockEndpoint = config.bedrockEndpoint;
    if (!config.apiGatewayUrl && !bedrockEndpoint && !config.awsCredentialsConfigured) {
      bedrock = await startBedrockEmulator({ latencyMs });
      closers.push(() => bedrock!.close());
      bedrockEndpoint = bedrock.url;
    }
    let gateway: LocalGateway | undefined;
    let gatewayUrl = config.apiGatewayUrl;
    if (!gatewayUrl) {
      gateway = await startInProcessGateway({ config: { ...config, bedrockEndpoint }, logger, host: '127.0.0.1' });
      closers.push(() => gateway!.close());
      gatewayUrl = gateway.url;
    }
    let ollama: EmulatorHandle | undefined;
    let ollamaHost = config.ollamaHost;
    if (!ollamaHost) {
      ollama = await startOllamaEmulator({ latencyMs, models: [config.ollamaModel, 'llama3.2', 'llama3.2:latest', 'llama2:latest'] });
      closers.push(() => ollama!.close());
      ollamaHost = ollama.url;
    }
    const effective: Config = { ...config, apiGatewayUrl: gatewayUrl, ollamaHost, bedrockEndpoint };

    const workerConn = createWorkerConnection(redisUrl);
    closers.push(() => workerConn.quit().catch(() => workerConn.disconnect()));
    await waitReady(workerConn);
    const workerQueues = PipelineQueues.fromConfig(workerConn, config);
    closers.push(() => workerQueues.close());
    const cloud = createCloudProvider(effective);
    const metrics = createMetrics({ queues: workerQueues.all });

    let workerHost: WorkerHost | undefined;
    const roles = opts.roles ?? [...WORKER_ROLES];
    if (roles.length > 0) {
      const workers = await startWorkers({
        config: effective, logger, roles, connection: workerConn, queues: workerQueues, hooks: metrics.observe(opts.hooks), providers: { cloud },
      });
      closers.push(() => workers.close());
      workerHost = workers.host;
    }

    const producerConn = createProducerConnection(redisUrl);
    closers.push(() => producerConn.quit().catch(() => producerConn.disconnect()));
    await waitReady(producerConn);

    let producerUrl: string | undefined;
    let store: ConversationStore;
    let queues: PipelineQueues;
    if (opts.producer ?? true) {
      const producer = await startProducer({
        config: effective, logger, connection: producerConn, cloud, metrics, heartbeatMs: opts.sseHeartbeatMs,
        routers: opts.routers, before: opts.before, closeGraceMs: 0,
      });
      closers.push(() => producer.close());
      ({ store, queues } = producer);
      producerUrl = producer.url;
    } else {
      store = ConversationStore.fromConfig(producerConn, config);
      const own = PipelineQueues.fromConfig(producerConn, config);
      closers.push(() => own.close());
      queues = own;
    }

    return {
      config: effective, redisUrl, producerUrl, gatewayUrl: gatewayUrl!, bedrock, ollama, redis, store, queues, workerHost, metrics, logger,
      backends: {
        redis: redis ? 'embedded' : 'external',
        gateway: gateway ? 'local gateway' : 'real',
        bedrock: bedrock ? 'emulated' : gateway ? 'real' : 'real',
        ollama: ollama ? 'emulated' : 'real',
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
