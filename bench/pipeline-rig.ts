/**
 * The pipeline in the benchmark process, built from the real parts the way `stack/local-stack.ts`
 * builds it, with one difference: both providers are wrapped in a {@link TimedProvider}, so the
 * pipeline's provider calls and the direct loop's are timed at the same boundary. Parts:
 * the Bedrock and Ollama emulators, the real Lambda handler behind the local API Gateway host, the
 * real cloud client and Ollama provider, the worker host (BullMQ workers), the conversation store
 * and queues, and the producer's {@link ConversationService} to submit conversations.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startBedrockEmulator, type EmulatorHandle } from '../emulators/bedrock-emulator';
import { startOllamaEmulator } from '../emulators/ollama-emulator';
import { ConversationService } from '../producer/conversation-service';
import { loadConfig, WORKER_ROLES, type Config, type Env, type WorkerRole } from '../shared/config';
import type { ConversationStore } from '../store/conversation-store';
import { createLogger, type Logger } from '../shared/logger';
import type { PipelineQueues } from '../queue/pipeline-queues';
import type { RedisTarget } from '../shared/redis-target';
import { openQueues } from '../assembly/queues';
import { openRedis } from '../assembly/redis-connections';
import { duplicateConnection } from '../shared/redis-connection';
import { buildStores } from '../assembly/stores';
import { Shutdown } from '../assembly/shutdown';
import { createGatewayBackend, createOllamaBackend } from '../providers/create-providers';
import { startInProcessGateway } from '../lambda/in-process-gateway';
import { startWorkers } from '../workers/start-workers';
import type { WorkerHost } from '../workers/worker-host';
import { ConversationEvents } from './conversation-events';
import { TimedProvider, type CallTiming } from './timed-provider';

/** Models the Ollama emulator serves (the config default and the usual names). */
export const BENCH_OLLAMA_MODELS = ['llama3.2', 'llama3.2:latest', 'llama2:latest'];

export interface PipelineRigOptions {
  /** A redis-server's URL (REDIS_URL) or a cluster's nodes (REDIS_CLUSTER_NODES; shared/redis-target.ts). */
  redisUrl: RedisTarget;
  /** BullMQ prefix (QUEUE_PREFIX) of this rig. */
  prefix: string;
  /** Emulator latency per model call, ms. Default 0 (instant). */
  latencyMs?: number;
  /** Extra environment for `loadConfig` (concurrency, retention...). */
  env?: Env;
  /** Worker roles run in this process. Default all three; `[]` for none. */
  roles?: WorkerRole[];
  /** Start the emulators (default true); false when only Redis-side parts are needed. */
  emulators?: boolean;
}

export interface PipelineRig {
  config: Config;
  logger: Logger;
  store: ConversationStore;
  queues: PipelineQueues;
  /** The producer's core, on a producer-style connection. */
  service: ConversationService;
  bedrock?: EmulatorHandle;
  ollama?: EmulatorHandle;
  gatewayUrl?: string;
  cloud: TimedProvider;
  local: TimedProvider;
  timings: CallTiming[];
  host?: WorkerHost;
  events: ConversationEvents;
  outputDir: string;
  close(): Promise<void>;
}

/**
 * A logger at the production default level (info) whose output goes to /dev/null: the pipeline
 * pays for building its log lines, as it does in production, without flooding the report.
 */
export function benchLogger(): Logger {
  return createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
}

/** REDIS_CLUSTER_NODES of a cluster target; a Sentinel target is not a rig's. */
function clusterNodesOf(target: Exclude<RedisTarget, string>): string {
  if (!('clusterNodes' in target)) throw new Error("the pipeline rig takes a redis-server URL or a cluster's nodes");
  return target.clusterNodes.join(',');
}

export async function startPipelineRig(opts: PipelineRigOptions): Promise<PipelineRig> {
  // Each part registers its close as it is opened (assembly/shutdown.ts); close() runs them in reverse, once.
  const stop = new Shutdown();
  const close = () => stop.close();
  try {
    const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-bench-out-'));
    stop.add('output dir', () => fs.rmSync(outputDir, { recursive: true, force: true }));
    const where = typeof opts.redisUrl === 'string' ? { REDIS_URL: opts.redisUrl } : { REDIS_CLUSTER_NODES: clusterNodesOf(opts.redisUrl) };
    const base = loadConfig({ ...where, QUEUE_PREFIX: opts.prefix, OUTPUT_DIR: outputDir, ...opts.env });
    const logger = benchLogger();
    const latencyMs = opts.latencyMs ?? 0;

    let bedrock: EmulatorHandle | undefined;
    let ollama: EmulatorHandle | undefined;
    let gatewayUrl: string | undefined;
    if (opts.emulators ?? true) {
      bedrock = await startBedrockEmulator({ latencyMs });
      stop.add('bedrock emulator', () => bedrock!.close());
      ollama = await startOllamaEmulator({ latencyMs, models: BENCH_OLLAMA_MODELS });
      stop.add('ollama emulator', () => ollama!.close());
      const gateway = await startInProcessGateway({ config: { ...base, bedrockEndpoint: bedrock.url }, logger });
      stop.add('local gateway', () => gateway.close());
      gatewayUrl = gateway.url;
    }
    const config: Config = { ...base, apiGatewayUrl: gatewayUrl, ollamaHost: ollama?.url, bedrockEndpoint: bedrock?.url };
    const timings: CallTiming[] = [];
    const cloud = new TimedProvider(createGatewayBackend(config, gatewayUrl ?? 'http://unused.invalid'), 'cloud', timings);
    const local = new TimedProvider(createOllamaBackend(config, ollama?.url ?? 'http://unused.invalid'), 'local', timings);

    const workerConn = await openRedis('worker', opts.redisUrl, { stop });
    const workerQueues = openQueues(workerConn, config, { stop });

    let host: WorkerHost | undefined;
    const roles = opts.roles ?? [...WORKER_ROLES];
    if (roles.length > 0) {
      const workers = await startWorkers({
        config,
        logger,
        roles,
        connection: workerConn,
        queues: workerQueues,
        providers: { cloud, local },
      });
      stop.add('workers', () => workers.close());
      host = workers.host;
    }

    const producerConn = await openRedis('producer', opts.redisUrl, { stop });
    const store = buildStores(producerConn, config).conversations;
    const queues = openQueues(producerConn, config, { stop });
    const service = new ConversationService({ config, store, queues });

    const events = await ConversationEvents.listen(
      duplicateConnection(workerConn, {}, { shardedSubscribers: store.shardedEvents }),
      store.eventsChannels,
      store.shardedEvents,
    );
    stop.add('conversation events', () => events.close());

    return { config, logger, store, queues, service, bedrock, ollama, gatewayUrl, cloud, local, timings, host, events, outputDir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
