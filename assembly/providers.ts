/**
 * The providers as every process that calls a model builds them. The cloud side: CLOUD's backend
 * (providers/provider-registry.ts), behind the fleet-wide per-model limiter when CLOUD_LIMITS /
 * CLOUD_LIMITS_FILE name any model (coordination/cloud-limiter.ts, whose state is in Redis, so every
 * process shares one budget), and outermost the fallback list of each call (each fallback model
 * goes through the limiter on its own). The cloud worker and the producer's `/api/v1/generate` both
 * take it from here. The local side: LOCAL's pool over the fleet-wide Ollama slot leases.
 *
 * @example
 * const cloud = buildCloudProvider({ config, connection, logger });
 * const local = await buildLocalPool({ config, connection, logger, stop });
 */
import type { Redis } from 'ioredis';
import { createFallbackCloudProvider } from '../providers/fallback-cloud-provider';
import { createLimitedCloudProvider } from '../providers/limited-cloud-provider';
import type { LlmProvider } from '../providers/llm-provider';
import type { OllamaPool } from '../providers/ollama-pool';
import { createCloudBackend, createLocalBackend } from '../providers/provider-registry';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { CloudLimiter } from '../coordination/cloud-limiter';
import { SlotLeases } from '../coordination/slot-leases';
import type { Shutdown } from './shutdown';

export interface CloudProviderOptions {
  config: Config;
  /** The connection the limiter's scripts run on. */
  connection: Redis;
  logger: Logger;
  /** The backend to wrap (the benchmarks time theirs). Default: CLOUD's, from config. */
  backend?: LlmProvider;
}

/** CLOUD's backend behind the limiter (when any model has limits) and the fallbacks. */
export function buildCloudProvider(opts: CloudProviderOptions): LlmProvider {
  const { config, logger } = opts;
  let cloud = opts.backend ?? createCloudBackend(config);
  if (Object.keys(config.cloudLimits).length > 0) {
    cloud = createLimitedCloudProvider({
      inner: cloud,
      limiter: new CloudLimiter(opts.connection, config.queuePrefix),
      limits: config.cloudLimits,
      defaultModel: config.bedrockModelId,
      defaultMaxTokens: config.defaultMaxTokens,
      logger,
    });
  }
  // Outermost: each model of a fallback list goes through the limiter on its own.
  return createFallbackCloudProvider({ inner: cloud, throttleRun: config.cloudFallbackAfterThrottles, logger });
}

export interface LocalPoolOptions {
  config: Config;
  /** The connection the slot leases run and listen on. */
  connection: Redis;
  logger: Logger;
  /** Registers the pool's and the leases' close. */
  stop: Shutdown;
}

/** LOCAL's pool of endpoints, each call holding a fleet-wide slot lease. */
export async function buildLocalPool(opts: LocalPoolOptions): Promise<OllamaPool> {
  const leases = new SlotLeases(opts.connection, opts.config.queuePrefix);
  opts.stop.add('slot leases', () => leases.close());
  await leases.listen();
  const pool = createLocalBackend(opts.config, leases, opts.logger);
  opts.stop.add('local pool', () => pool.close());
  return pool;
}
