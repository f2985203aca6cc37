/**
 * Producer process entry (`npm run producer`): the HTTP API on PORT/HOST against REDIS_URL.
 * `/api/v1/generate` uses API_GATEWAY_URL, or the Lambda handler in-process when unset.
 */
import { loadConfig } from '../shared/config';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { redisTargetOf } from '../shared/redis-target';
import { createOutageLog } from '../shared/redis-outage-log';
import { Shutdown, stopOnSignals } from '../assembly/shutdown';
import { startInProcessGateway } from '../lambda/in-process-gateway';
import { startTracing } from '../shared/tracing';
import { checkPortFree, checkRedisReachable } from '../shared/startup-checks';
import { startProducer } from './start-producer';

async function main() {
  // The producer's keys only: a bad worker-only key is logged and left at its default.
  const ignored: ConfigError[] = [];
  const config = loadConfig(process.env, { for: 'producer', ignored: (err) => ignored.push(err) });
  // OTLP traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/tracing.ts); before anything builds queues.
  const tracing = startTracing({ serviceName: 'llmconv-producer', env: process.env });
  const logger = createLogger({ level: config.logLevel, name: 'producer' });
  for (const err of ignored) logger.warn({ key: err.key }, `${err.message} (not read by the producer: ignored)`);
  const redisTarget = redisTargetOf(config);
  if (!redisTarget)
    throw new ConfigError(
      'REDIS_URL (or REDIS_CLUSTER_NODES) must be set for the producer process (use `npm start` for the all-in-one stack)',
      'REDIS_URL',
    );
  // Before anything opens: a taken PORT or a Redis that never answers stops it here, naming the setting.
  await checkPortFree({ setting: 'PORT', host: config.host, port: config.port });
  await checkRedisReachable(redisTarget);
  // What is opened registers its close; a signal closes them in reverse (assembly/shutdown.ts).
  const stop = new Shutdown({ logger });
  // Closed last (the parts close in reverse): what they traced on the way down is exported too.
  stop.add('traces', () => tracing.shutdown());
  // One line when Redis goes away, then one per 10 s with a count, one when it is back.
  const outage = createOutageLog(logger, 'producer');
  stop.add('outage log', () => outage.close());
  const gateway = config.apiGatewayUrl || config.cloudBackend === 'bedrock' ? undefined : await startInProcessGateway({ config, logger });
  if (gateway) stop.add('gateway', () => gateway.close());
  const producer = await startProducer({ config: { ...config, apiGatewayUrl: config.apiGatewayUrl ?? gateway?.url }, logger, outage });
  stop.add('producer', () => producer.close());
  logger.info({ url: producer.url, prefix: config.queuePrefix }, 'producer listening');
  stopOnSignals(logger, stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'producer failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
