/**
 * A benchmark child that calls a model the way a worker does, for the pool and quota phases:
 * on `{ type: 'start', mode, env, ms, parallel, maxTokens }` it builds from `env` either the local
 * model pool (`mode: 'pool'`: `createLocalPool` + Redis slot leases) or the cloud client behind the
 * per-model limiter (`mode: 'cloud'`), keeps `parallel` calls going for `ms`, then sends
 * `{ type: 'done', ok, throttled, failed, tokens }`.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../shared/config';
import { errorMessage, ProviderError } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import { createGatewayBackend, createLocalPool } from '../providers/create-providers';
import { createLimitedCloudProvider } from '../providers/limited-cloud-provider';
import type { LlmProvider } from '../providers/llm-provider';
import { CloudLimiter } from '../coordination/cloud-limiter';
import { SlotLeases } from '../coordination/slot-leases';

interface Start {
  type: 'start';
  mode: 'pool' | 'cloud';
  env: Record<string, string>;
  ms: number;
  parallel: number;
  maxTokens: number;
  windowMs?: number;
}

const send = (msg: Record<string, unknown>) => {
  if (process.connected) process.send?.(msg);
};

async function run(start: Start): Promise<void> {
  const config = loadConfig(start.env);
  const redis = new Redis(config.redisUrl!, { maxRetriesPerRequest: null });
  let provider: LlmProvider;
  let leases: SlotLeases | undefined;
  if (start.mode === 'pool') {
    leases = new SlotLeases(redis, config.queuePrefix);
    await leases.listen();
    provider = createLocalPool(config, leases, silentLogger);
  } else {
    provider = createLimitedCloudProvider({
      inner: createGatewayBackend(config),
      limiter: new CloudLimiter(redis, config.queuePrefix, { windowMs: start.windowMs }),
      limits: config.cloudLimits,
      defaultModel: config.bedrockModelId,
      defaultMaxTokens: config.defaultMaxTokens,
      logger: silentLogger,
      maxThrottleRetries: 0,
    });
  }
  send({ type: 'ready' });
  const stop = AbortSignal.timeout(start.ms);
  let ok = 0;
  let throttled = 0;
  let tokens = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: start.parallel }, async (_, i) => {
      for (let n = 0; !stop.aborted; n++) {
        try {
          const reply = await provider.generate({
            prompt: `question ${n} of loop ${i} in ${process.pid}`,
            maxTokens: start.maxTokens,
            signal: stop,
            timeoutMs: 60_000,
          });
          ok++;
          tokens += reply.inputTokens + reply.outputTokens;
        } catch (err) {
          if (err instanceof ProviderError && err.status === 429) throttled++;
          else if (!stop.aborted) errors.push(errorMessage(err));
        }
      }
    }),
  );
  (provider as { close?: () => void }).close?.();
  await leases?.close();
  redis.disconnect();
  send({ type: 'done', ok, throttled, tokens, failed: errors.length, errors: errors.slice(0, 3) });
}

process.on('message', (m: Start) => {
  if (m.type === 'start') run(m).catch((err) => send({ type: 'error', message: errorMessage(err) }));
});
process.on('disconnect', () => process.exit(0));
