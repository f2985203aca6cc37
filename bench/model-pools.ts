/**
 * The two model-capacity phases of the benchmark.
 *
 * Pool saturation: two emulated Ollama hosts (4 and 2 slots, 250 ms per call) shared by three
 * worker-like processes through the Redis slot leases, with more calls wanting to run than there
 * are slots. The emulators' own concurrency counters are sampled every 5 ms: saturation = mean
 * calls running ÷ 6 slots over the window (work is queued the whole time); `maxInFlight` per host
 * must never pass its slots.
 *
 * Throttle recovery: the Bedrock emulator enforces a tokens-per-minute quota; three processes call
 * through the real cloud path behind the per-model limiter set to that quota. Achieved = tokens
 * Bedrock admitted ÷ (quota × windows elapsed); 429 share = throttled ÷ calls. The quota window is
 * shortened (emulator and limiter alike) so the run takes seconds, not minutes.
 */
import { startBedrockEmulator } from '../emulators/bedrock-emulator';
import { startLocalGateway } from '../lambda/local-gateway';
import { startOllamaEmulator } from '../emulators/ollama-emulator';
import { createBedrockConverse } from '../bedrock/bedrock-client';
import { createHandler } from '../lambda/handler';
import { silentLogger } from '../shared/logger';
import type { BenchContext } from './bench-context';
import { forkBenchChild, type BenchChild } from './child-process';

export interface PoolSaturationResult {
  saturation: number;
  slots: [number, number];
  maxInFlight: [number, number];
  calls: number;
  windowMs: number;
  latencyMs: number;
}

async function runChildren(n: number, start: Record<string, unknown>, ms: number): Promise<Record<string, unknown>[]> {
  const children: BenchChild[] = Array.from({ length: n }, () => forkBenchChild('pool-caller.ts'));
  try {
    for (const c of children) c.send({ type: 'start', ...start, ms });
    await Promise.all(children.map((c) => c.next('ready')));
    return await Promise.all(children.map((c) => c.next<Record<string, unknown>>('done', ms + 60_000)));
  } finally {
    for (const c of children) c.kill();
  }
}

/** Pool saturation with two hosts of 4 and 2 slots and three processes. */
export async function measurePoolSaturation(ctx: BenchContext): Promise<PoolSaturationResult> {
  const latencyMs = 250;
  const slots: [number, number] = [4, 2];
  const windowMs = ctx.quick ? 6000 : 15_000;
  const hosts = await Promise.all(slots.map(() => startOllamaEmulator({ latencyMs })));
  try {
    const env = {
      REDIS_URL: ctx.redisUrl,
      QUEUE_PREFIX: `{bench-pool-${process.pid}-${Date.now()}}`,
      OLLAMA_HOSTS: hosts.map((h, i) => `${h.url}*${slots[i]}`).join(','),
      LOG_LEVEL: 'silent',
    };
    const running = runChildren(3, { mode: 'pool', env, parallel: 4, maxTokens: 20 }, windowMs + 2000);
    // Measure once every process has work running, for `windowMs`.
    while (hosts.reduce((n, h) => n + h.stats().inFlight, 0) < 6) await new Promise((r) => setTimeout(r, 5));
    for (const h of hosts) h.faults.resetStats();
    let samples = 0;
    let busy = 0;
    const until = Date.now() + windowMs;
    while (Date.now() < until) {
      busy += hosts.reduce((n, h) => n + h.stats().inFlight, 0);
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const maxInFlight = hosts.map((h) => h.stats().maxInFlight) as [number, number];
    const calls = hosts.reduce((n, h) => n + (h.stats().byRoute.chat ?? 0), 0);
    const results = await running;
    const failed = results.reduce((n, r) => n + Number(r.failed), 0);
    if (failed > 0) throw new Error(`pool calls failed: ${JSON.stringify(results.map((r) => r.errors))}`);
    return { saturation: busy / samples / (slots[0] + slots[1]), slots, maxInFlight, calls, windowMs, latencyMs };
  } finally {
    for (const h of hosts) await h.close();
  }
}

export interface ThrottleRecoveryResult {
  achievedShareOfQuota: number;
  throttledShare: number;
  calls: number;
  throttled: number;
  quotaTokens: number;
  windowMs: number;
  runMs: number;
}

/** Throttle recovery: three processes under one model's tokens-per-window quota. */
export async function measureThrottleRecovery(ctx: BenchContext): Promise<ThrottleRecoveryResult> {
  const model = 'amazon.nova-micro-v1:0';
  const windowMs = ctx.quick ? 3000 : 10_000;
  const runMs = windowMs * 3;
  const quotaTokens = ctx.quick ? 6000 : 20_000;
  const emu = await startBedrockEmulator({ latencyMs: 30, tokensPerMinute: { [model]: quotaTokens }, quotaWindowMs: windowMs });
  const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: model, requestTimeoutMs: 10_000 });
  const gateway = await startLocalGateway({ port: 0, handler: createHandler({ converse, logger: silentLogger }) });
  try {
    const env = {
      REDIS_URL: ctx.redisUrl,
      QUEUE_PREFIX: `{bench-quota-${process.pid}-${Date.now()}}`,
      API_GATEWAY_URL: gateway.url,
      BEDROCK_MODEL_ID: model,
      CLOUD_LIMITS: JSON.stringify({ [model]: { tpm: quotaTokens } }),
      LOG_LEVEL: 'silent',
    };
    const started = Date.now();
    const results = await runChildren(3, { mode: 'cloud', env, parallel: 4, maxTokens: 40, windowMs }, runMs);
    const elapsed = Date.now() - started;
    const admitted = emu.quotas.admittedTokens[model] ?? 0;
    const throttled = emu.quotas.throttled[model] ?? 0;
    const ok = results.reduce((n, r) => n + Number(r.ok), 0);
    const failed = results.reduce((n, r) => n + Number(r.failed), 0);
    if (failed > 0) throw new Error(`cloud calls failed: ${JSON.stringify(results.map((r) => r.errors))}`);
    // The windows the run spanned: the first is filled at once, then one more per window length.
    const windows = Math.max(1, Math.floor(Math.min(elapsed, runMs) / windowMs));
    return {
      achievedShareOfQuota: admitted / (quotaTokens * windows),
      throttledShare: throttled / Math.max(1, ok + throttled),
      calls: ok + throttled,
      throttled,
      quotaTokens,
      windowMs,
      runMs,
    };
  } finally {
    await gateway.close();
    await emu.close();
  }
}
