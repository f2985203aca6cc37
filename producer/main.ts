/**
 * Producer process entry (`npm run producer`): the HTTP API on PORT/HOST against REDIS_URL.
 * `/api/v1/generate` uses API_GATEWAY_URL, or the Lambda handler in-process when unset.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../shared/config';
import { ConversationStore } from '../shared/conversation-store';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { PipelineQueues } from '../shared/pipeline-queues';
import { createProducerConnection } from '../shared/redis-connection';
import { createOutageLog } from '../shared/redis-outage-log';
import { onShutdown } from '../shared/shutdown';
import { createHandler } from '../lambda/handler';
import { startLocalGateway } from '../lambda/local-gateway';
import { createCloudProvider } from '../workers/providers';
import { createApp } from './app';
import { startOperations } from './operations';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'producer' });
  if (!config.redisUrl) throw new ConfigError('REDIS_URL must be set for the producer process (use `npm start` for the all-in-one stack)', 'REDIS_URL');
  const redis = createProducerConnection(config.redisUrl);
  // One line when Redis goes away, then one per 10 s with a count, one when it is back.
  const outage = createOutageLog(logger, 'producer');
  outage.watch(redis);
  const store = ConversationStore.fromConfig(redis, config);
  const queues = PipelineQueues.fromConfig(redis, config);
  for (const q of queues.all) q.on('error', (err: Error) => outage.error(err, { queue: q.name }));

  let gatewayUrl = config.apiGatewayUrl;
  let gateway: { close(): Promise<void> } | undefined;
  if (!gatewayUrl) {
    const gw = await startLocalGateway({ handler: createHandler({ config, logger }) });
    gateway = gw;
    gatewayUrl = gw.url;
  }
  const ops = await startOperations({ config, redis, store, queues, logger });
  const app = createApp({ config, redis, store, queues, cloud: createCloudProvider(config, gatewayUrl), logger, before: ops.before, routers: ops.routers });
  const server = app.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ url: `http://${config.host}:${port}`, prefix: config.queuePrefix }, 'producer listening');
  });
  onShutdown(logger, [
    { name: 'live streams', run: () => ops.close() },
    { name: 'http', run: () => new Promise<void>((r) => { server.close(() => r()); setTimeout(() => server.closeAllConnections(), 5000).unref(); }) },
    { name: 'queues', run: () => queues.close() },
    { name: 'gateway', run: () => gateway?.close() },
    { name: 'redis', run: () => redis.quit() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'producer failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
