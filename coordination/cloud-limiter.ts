/**
 * A fleet-wide request-per-minute and token-per-minute limiter per cloud model id, in Redis (Lua),
 * over a sliding 60 s window (`windowMs`), fed by the real usage each call reports.
 *
 * Like Bedrock's own quota accounting (AWS Bedrock user guide, "How tokens are counted":
 * the quota is reserved at the start of a request as input tokens + `maxTokens`, then settled to
 * the real usage when it ends), a call first reserves its estimate ({@link CloudLimiter.reserve}),
 * then {@link CloudLimiter.settle}s it to the tokens the reply reports, or
 * {@link CloudLimiter.cancel}s it when the call failed before using any.
 *
 * The limits applied are the configured ones times an effective factor, tuned by AIMD from the
 * 429s the fleet sees: each 429 multiplies it by `decrease` (at most once per `decreaseEveryMs`,
 * so one burst of 429s counts once), each success adds `increase`, up to 1.
 *
 * Keys (one hash tag, the queue prefix): `<prefix>:cloud-limit:<model>` (sorted set: call id →
 * start ms), `…:tokens` (hash: call id → tokens), `…:aimd` (hash: factor, decreasedAt).
 *
 * @example
 * const limiter = new CloudLimiter(redis, '{llmconv}');
 * const wait = await limiter.reserve('anthropic.claude-3-haiku', { rpm: 50, tpm: 40000 }, 'call-1', 1500); // 0: go; > 0: ms to wait
 * await limiter.settle('anthropic.claude-3-haiku', 'call-1', 812);
 */
import type { Redis } from 'ioredis';
import type { ModelLimits } from '../shared/cloud-limits';
import { loadScript } from './redis-script';

// The scripts, coordination/lua/cloud-limiter/ (headers there name KEYS, ARGV and the reply).
const RESERVE = loadScript('cloud-limiter/reserve', 3);
const SETTLE = loadScript('cloud-limiter/settle', 2);
const TUNE = loadScript('cloud-limiter/tune', 1);

/** Options of {@link CloudLimiter}: the AIMD tuning. */
export interface CloudLimiterOptions {
  /** Factor applied on a 429. Default 0.7. */
  decrease?: number;
  /** Added to the factor per success. Default 0.01. */
  increase?: number;
  /** Lowest factor. Default 0.1. */
  minFactor?: number;
  /** At most one decrease per this many ms. Default 2000. */
  decreaseEveryMs?: number;
  /** The window the per-minute limits apply to, ms. Default 60000 (the benchmark shortens it with the emulator's). */
  windowMs?: number;
}

export class CloudLimiter {
  private readonly prefix: string;
  private readonly tuning: Required<CloudLimiterOptions>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    opts: CloudLimiterOptions = {},
  ) {
    this.prefix = `${prefix}:cloud-limit:`;
    this.tuning = {
      decrease: opts.decrease ?? 0.7,
      increase: opts.increase ?? 0.01,
      minFactor: opts.minFactor ?? 0.1,
      decreaseEveryMs: opts.decreaseEveryMs ?? 2000,
      windowMs: opts.windowMs ?? 60_000,
    };
  }

  private keys(model: string): string[] {
    const base = this.prefix + model;
    return [base, `${base}:tokens`, `${base}:aimd`];
  }

  /** Reserves one request and `tokens` in the model's window: 0 when done, else ms to wait before asking again. */
  async reserve(model: string, limits: ModelLimits, callId: string, tokens: number): Promise<number> {
    return Number(
      await RESERVE.run(this.redis, this.keys(model), [
        limits.rpm ?? 0,
        limits.tpm ?? 0,
        callId,
        Math.max(0, Math.ceil(tokens)),
        this.tuning.windowMs,
      ]),
    );
  }

  /** Replaces a reservation with the tokens the call really used. */
  async settle(model: string, callId: string, tokens: number): Promise<void> {
    await SETTLE.run(this.redis, this.keys(model).slice(0, 2), [callId, Math.max(0, Math.ceil(tokens))]);
  }

  /** Drops a reservation (the call used nothing, e.g. it was throttled). */
  async cancel(model: string, callId: string): Promise<void> {
    await SETTLE.run(this.redis, this.keys(model).slice(0, 2), [callId, -1]);
  }

  /** Records a 429 (multiplicative decrease) or a success (additive increase); returns the effective factor. */
  async tune(model: string, outcome: 'throttled' | 'ok'): Promise<number> {
    const t = this.tuning;
    return Number(
      await TUNE.run(
        this.redis,
        [this.keys(model)[2]!],
        [outcome === 'throttled' ? 'down' : 'up', t.decrease, t.increase, t.minFactor, t.decreaseEveryMs],
      ),
    );
  }
}
