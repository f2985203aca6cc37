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
import { RedisScript } from './redis-script';


const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Drops calls that started more than a window ago; leaves `live` (ids) and `used` (tokens). */
const PRUNE = `
local window = tonumber(ARGV[5])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  redis.call('HDEL', KEYS[2], unpack(old))
end
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(v) end
local count = redis.call('ZCARD', KEYS[1])
local factor = tonumber(redis.call('HGET', KEYS[3], 'factor') or '1')`;

/**
 * KEYS: calls, tokens, aimd. ARGV: rpm (0 = none), tpm (0 = none), call id, tokens to reserve, window ms.
 * Returns 0 when reserved, else the ms until the oldest call leaves the window (at least 1).
 */
const RESERVE = new RedisScript(`${NOW}${PRUNE}
local rpm, tpm, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local okR = rpm == 0 or count + 1 <= math.max(1, math.floor(rpm * factor))
local capT = math.floor(tpm * factor)
-- A call bigger than the whole effective window still runs alone in an empty window.
local okT = tpm == 0 or used + want <= capT or count == 0
if okR and okT then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[3], want)
  redis.call('PEXPIRE', KEYS[1], window * 2)
  redis.call('PEXPIRE', KEYS[2], window * 2)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then return math.max(1, tonumber(oldest[2]) + window - now) end
return 1`);

/**
 * KEYS: calls, tokens. ARGV: call id, tokens (settle; -1 cancels). A settled call is re-stamped
 * with the time it ended: the provider counted it from some moment after our reservation, so
 * counting it from its end never lets it leave our window before it leaves the provider's.
 */
const SETTLE = new RedisScript(`${NOW}
if ARGV[2] == '-1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1`);

/** KEYS: aimd. ARGV: 'down' | 'up', decrease factor, increase step, min factor, decreaseEveryMs. Returns the factor (string). */
const TUNE = new RedisScript(`${NOW}
local factor = tonumber(redis.call('HGET', KEYS[1], 'factor') or '1')
if ARGV[1] == 'down' then
  local at = tonumber(redis.call('HGET', KEYS[1], 'decreasedAt') or '0')
  if now - at >= tonumber(ARGV[5]) then
    factor = math.max(tonumber(ARGV[4]), factor * tonumber(ARGV[2]))
    redis.call('HSET', KEYS[1], 'factor', tostring(factor), 'decreasedAt', now)
  end
elseif factor < 1 then
  factor = math.min(1, factor + tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'factor', tostring(factor))
end
redis.call('PEXPIRE', KEYS[1], 3600000)
return tostring(factor)`);

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

  constructor(private readonly redis: Redis, prefix: string, opts: CloudLimiterOptions = {}) {
    this.prefix = `${prefix}:cloud-limit:`;
    this.tuning = { decrease: opts.decrease ?? 0.7, increase: opts.increase ?? 0.01, minFactor: opts.minFactor ?? 0.1, decreaseEveryMs: opts.decreaseEveryMs ?? 2000, windowMs: opts.windowMs ?? 60_000 };
  }

  private keys(model: string): string[] {
    const base = this.prefix + model;
    return [base, `${base}:tokens`, `${base}:aimd`];
  }

  /** Reserves one request and `tokens` in the model's window: 0 when done, else ms to wait before asking again. */
  async reserve(model: string, limits: ModelLimits, callId: string, tokens: number): Promise<number> {
    return Number(await RESERVE.run(this.redis, this.keys(model), [limits.rpm ?? 0, limits.tpm ?? 0, callId, Math.max(0, Math.ceil(tokens)), this.tuning.windowMs]));
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
    return Number(await TUNE.run(this.redis, [this.keys(model)[2]!], [outcome === 'throttled' ? 'down' : 'up', t.decrease, t.increase, t.minFactor, t.decreaseEveryMs]));
  }
}
