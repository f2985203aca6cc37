/**
 * Worker process entry (`npm run worker`): runs the roles in WORKER_ROLES against REDIS_URL.
 * Scale out by starting this on more hosts with the same REDIS_URL and QUEUE_PREFIX.
 * Without API_GATEWAY_URL the Lambda handler runs in-process behind a local gateway.
 */
import os from 'node:os';
import { loadConfig, ollamaHostOf } from '../shared/config';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { buildMetrics } from '../assembly/metrics';
import { startMetricsServer } from '../shared/metrics-server';
import { redisTargetOf } from '../shared/redis-target';
import { createOutageLog } from '../shared/redis-outage-log';
import { Shutdown, stopOnSignals } from '../assembly/shutdown';
import { startInProcessGateway } from '../lambda/in-process-gateway';
import { startTracing } from '../shared/tracing';
import { checkPortFree, checkRedisReachable } from '../shared/startup-checks';
import { registerPoolMetrics } from './pool-metrics';
import { startWorkers, type StartedWorkers } from './start-workers';

async function main() {
  // The keys of this worker's roles (WORKER_ROLES) only: a bad producer-only key is logged and left at its default.
  const ignored: ConfigError[] = [];
  const config = loadConfig(process.env, { for: 'worker', ignored: (err) => ignored.push(err) });
  // OTLP traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/tracing.ts); before anything builds queues.
  const tracing = startTracing({ serviceName: 'llmconv-worker', env: process.env });
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  for (const err of ignored) logger.warn({ key: err.key }, `${err.message} (not read by this worker's roles: ignored)`);
  const redisTarget = redisTargetOf(config);
  if (!redisTarget)
    throw new ConfigError(
      'REDIS_URL (or REDIS_CLUSTER_NODES) must be set for a worker process (use `npm start` for the all-in-one stack)',
      'REDIS_URL',
    );
  // Before anything opens: a taken METRICS_PORT or a Redis that never answers stops it here, naming the setting.
  await checkPortFree({ setting: 'METRICS_PORT', host: config.host, port: config.metricsPort });
  await checkRedisReachable(redisTarget);
  // What is opened registers its close; a signal closes them in reverse (assembly/shutdown.ts).
  const stop = new Shutdown({ logger });
  // Closed last (the parts close in reverse): what they traced on the way down is exported too.
  stop.add('traces', () => tracing.shutdown());
  // One line when Redis goes away, then one per 10 s with a count, one when it is back.
  const outage = createOutageLog(logger, 'worker');
  stop.add('outage log', () => outage.close());
  // CLOUD=bedrock calls Converse from the worker: no gateway to run.
  const gateway =
    config.workerRoles.includes('cloud') && config.cloudBackend !== 'bedrock' && !config.apiGatewayUrl
      ? await startInProcessGateway({ config, logger })
      : undefined;
  if (gateway) {
    stop.add('gateway', () => gateway.close());
    logger.warn({ gatewayUrl: gateway.url }, 'API_GATEWAY_URL unset: running the Lambda handler in-process behind a local gateway');
  }
  const effective = { ...config, apiGatewayUrl: config.apiGatewayUrl ?? gateway?.url, ollamaHost: ollamaHostOf(config) };
  const metrics = buildMetrics(config, { labels: { role: 'worker' } });
  // Each worker host serves its own metrics (step latencies, tokens, errors); queue counts are the
  // producer's. Started before the workers so a taken METRICS_PORT fails before any job is taken.
  // Not ready while its Redis errors (a node that answers MOVED to every command too); a local worker
  // is ready while its Ollama still has its model (checked at start, see startWorkers).
  let workers: StartedWorkers | undefined;
  const ready = async (): Promise<{ ready: boolean; reason?: string }> => {
    const redis = outage.state();
    if (redis.down)
      return { ready: false, reason: `Redis unavailable for ${Math.round((redis.sinceMs ?? 0) / 1000)} s: ${redis.lastError}` };
    if (!config.workerRoles.includes('local')) return { ready: true };
    return workers?.modelCheck?.ready() ?? { ready: false, reason: 'starting: checking the Ollama model' };
  };
  const metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host, ready });
  stop.add('metrics', () => metricsServer.close());
  workers = await startWorkers({ config: effective, logger, hooks: metrics.hooks, name: `${os.hostname()}-${process.pid}`, outage });
  const started = workers;
  stop.add('workers', () => started.close(10_000));
  if (started.localPool) registerPoolMetrics(metrics.registry, started.localPool);
  logger.info(
    {
      roles: config.workerRoles,
      redis: 'connected',
      gateway: effective.apiGatewayUrl,
      ollama: effective.ollamaHost,
      metrics: `${metricsServer.url}/metrics`,
    },
    'worker ready',
  );

  stopOnSignals(logger, stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'worker failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
