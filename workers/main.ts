/**
 * Worker process entry (`npm run worker`): runs the roles in WORKER_ROLES against REDIS_URL.
 * Scale out by starting this on more hosts with the same REDIS_URL and QUEUE_PREFIX.
 * Without API_GATEWAY_URL the Lambda handler runs in-process behind a local gateway.
 */
import os from 'node:os';
import { loadConfig } from '../shared/config';
import { ConversationStore } from '../store/conversation-store';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { startMetricsServer } from '../shared/metrics-server';
import { PipelineQueues } from '../queue/pipeline-queues';
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import { onShutdown } from '../shared/shutdown';
import { startLocalGateway } from '../emulators/api-gateway-emulator';
import { createHandler } from '../lambda/handler';
import { CancelRegistry } from './cancel-registry';
import { createCloudProvider, createLocalProvider, DEFAULT_OLLAMA_HOST } from '../providers/create-providers';
import { startWorkerHost } from './worker-host';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  if (!config.redisUrl) throw new ConfigError('REDIS_URL must be set for a worker process (use `npm start` for the all-in-one stack)', 'REDIS_URL');
  const conn = createWorkerConnection(config.redisUrl);
  await waitReady(conn, 30_000);

  let gatewayUrl = config.apiGatewayUrl;
  let gateway: { close(): Promise<void> } | undefined;
  if (config.workerRoles.includes('cloud') && !gatewayUrl) {
    const gw = await startLocalGateway({ handler: createHandler({ config, logger }) });
    gateway = gw;
    gatewayUrl = gw.url;
    logger.warn({ gatewayUrl }, 'API_GATEWAY_URL unset: running the Lambda handler in-process behind a local gateway');
  }
  const effective = { ...config, apiGatewayUrl: gatewayUrl, ollamaHost: config.ollamaHost ?? DEFAULT_OLLAMA_HOST };
  const store = ConversationStore.fromConfig(conn, config);
  const queues = PipelineQueues.fromConfig(conn, config);
  const metrics = createMetrics({ labels: { role: 'worker' } });
  // Each worker host serves its own metrics (step latencies, tokens, errors); queue counts are the
  // producer's. Started before the workers so a taken METRICS_PORT fails before any job is taken.
  const metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host });
  const cancels = new CancelRegistry();
  await cancels.listen(conn.duplicate(), store.eventsChannel);
  const host = await startWorkerHost({
    deps: {
      config: effective, store, queues, cancels, logger,
      cloud: createCloudProvider(effective, gatewayUrl ?? 'http://unused.invalid'),
      local: createLocalProvider(effective),
      hooks: metrics.hooks,
    },
    connection: conn,
    roles: config.workerRoles,
    name: `${os.hostname()}-${process.pid}`,
  });
  logger.info({ roles: config.workerRoles, redis: 'connected', gateway: gatewayUrl, ollama: effective.ollamaHost, metrics: `${metricsServer.url}/metrics` }, 'worker ready');

  onShutdown(logger, [
    { name: 'workers', run: () => host.close(10_000) },
    { name: 'cancel listener', run: () => cancels.close() },
    { name: 'queues', run: () => queues.close() },
    { name: 'gateway', run: () => gateway?.close() },
    { name: 'metrics', run: () => metricsServer.close() },
    { name: 'redis', run: () => conn.quit() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'worker failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
