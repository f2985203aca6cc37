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
import { PipelineQueues } from '../shared/pipeline-queues';
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import { onShutdown } from '../shared/shutdown';
import { startLocalGateway } from '../lambda/local-gateway';
import { createHandler } from '../lambda/handler';
import { CancelRegistry } from './cancel-registry';
import { createCloudProvider, createLocalProvider, DEFAULT_OLLAMA_HOST } from './providers';
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
  const storeOpts = { prefix: config.queuePrefix, retentionSeconds: config.retentionSeconds };
  const store = new ConversationStore(conn, storeOpts);
  const queues = new PipelineQueues(conn, { prefix: config.queuePrefix, attempts: config.jobAttempts, backoffDelayMs: config.backoffDelayMs, retentionSeconds: config.retentionSeconds });
  const cancels = new CancelRegistry();
  await cancels.listen(conn.duplicate(), store.eventsChannel);
  const host = await startWorkerHost({
    deps: {
      config: effective, store, queues, cancels, logger,
      cloud: createCloudProvider(effective, gatewayUrl ?? 'http://unused.invalid'),
      local: createLocalProvider(effective),
    },
    connection: conn,
    roles: config.workerRoles,
    name: `${os.hostname()}-${process.pid}`,
  });
  logger.info({ roles: config.workerRoles, redis: 'connected', gateway: gatewayUrl, ollama: effective.ollamaHost }, 'worker ready');

  onShutdown(logger, [
    { name: 'workers', run: () => host.close(10_000) },
    { name: 'cancel listener', run: () => cancels.close() },
    { name: 'queues', run: () => queues.close() },
    { name: 'gateway', run: () => gateway?.close() },
    { name: 'redis', run: () => conn.quit() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'worker failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
