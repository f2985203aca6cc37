/**
 * Producer process entry (`npm run producer`): the HTTP API on PORT/HOST against REDIS_URL.
 * `/api/v1/generate` uses API_GATEWAY_URL, or the Lambda handler in-process when unset.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../shared/config';
import { ConversationStore } from '../store/conversation-store';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { PipelineQueues } from '../queue/pipeline-queues';
import { createProducerConnection } from '../shared/redis-connection';
import { onShutdown } from '../shared/shutdown';
import { createHandler } from '../lambda/handler';
import { startLocalGateway } from '../emulators/api-gateway-emulator';
import { createCloudProvider } from '../providers/create-providers';
import { createApp } from './app';
import { startOperations } from './operator-surface';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'producer' });
  if (!config.redisUrl) throw new ConfigError('REDIS_URL must be set for the producer process (use `npm start` for the all-in-one stack)', 'REDIS_URL');
  const redis = createProducerConnection(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const store = ConversationStore.fromConfig(redis, config);
  const queues = PipelineQueues.fromConfig(redis, config);

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
