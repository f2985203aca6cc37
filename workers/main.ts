/**
 * Worker process entry (`npm run worker`): runs the roles in WORKER_ROLES against REDIS_URL.
 * Scale out by starting this on more hosts with the same REDIS_URL and QUEUE_PREFIX.
 * Without API_GATEWAY_URL the Lambda handler runs in-process behind a local gateway.
 */
import os from 'node:os';
import { loadConfig } from '../shared/config';
import { ConversationStore } from '../shared/conversation-store';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { startMetricsServer } from '../shared/metrics-server';
import { PipelineQueues } from '../shared/pipeline-queues';
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import { createOutageLog } from '../shared/redis-outage-log';
import { onShutdown } from '../shared/shutdown';
import { startLocalGateway } from '../lambda/local-gateway';
import { createHandler } from '../lambda/handler';
import { LocalModelRegistry } from '../shared/local-models';
import { CancelRegistry } from './cancel-registry';
import { startLocalModelCheck, type LocalModelCheck } from './local/local-model-check';
import { createCloudProvider, createLocalProvider, DEFAULT_OLLAMA_HOST } from './providers';
import { startWorkerHost } from './worker-host';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  if (!config.redisUrl) throw new ConfigError('REDIS_URL must be set for a worker process (use `npm start` for the all-in-one stack)', 'REDIS_URL');
  const conn = createWorkerConnection(config.redisUrl);
  // One line when Redis goes away, then one per 10 s with a count, one when it is back.
  const outage = createOutageLog(logger, 'worker');
  outage.watch(conn);
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
  for (const q of queues.all) q.on('error', (err: Error) => outage.error(err, { queue: q.name }));
  const metrics = createMetrics({ labels: { role: 'worker' } });
  // A local worker whose model is missing refuses to start (or pulls it with OLLAMA_PULL), loads it,
  // and publishes its Ollama's models so the producer refuses conversations naming a missing one.
  let modelCheck: LocalModelCheck | undefined;
  if (config.workerRoles.includes('local')) {
    modelCheck = await startLocalModelCheck({
      host: effective.ollamaHost, model: config.ollamaModel, pull: config.ollamaPull, keepAlive: config.ollamaKeepAlive, warmTimeoutMs: config.ollamaTimeoutMs, logger,
      registry: new LocalModelRegistry(conn, config.queuePrefix),
    });
  }
  // Each worker host serves its own metrics (step latencies, tokens, errors); queue counts are the
  // producer's. Started before the workers so a taken METRICS_PORT fails before any job is taken.
  const metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host, ready: modelCheck && (() => modelCheck!.ready()) });
  const cancels = new CancelRegistry();
  const sub = conn.duplicate();
  outage.watch(sub);
  await cancels.listen(sub, store.eventsChannel);
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
    onError: (err, role) => outage.error(err, { role }),
  });
  logger.info({ roles: config.workerRoles, redis: 'connected', gateway: gatewayUrl, ollama: effective.ollamaHost, metrics: `${metricsServer.url}/metrics` }, 'worker ready');

  onShutdown(logger, [
    { name: 'workers', run: () => host.close(10_000) },
    { name: 'model check', run: () => modelCheck?.stop() },
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
