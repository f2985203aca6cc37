/**
 * Refuses new work while Redis is nearly full: under `noeviction` a full Redis stops every step of
 * every conversation, so writes that add work (`POST /conversation`, `POST /runs`,
 * `POST /runs/:id/seeds`) get 429 `redis_memory_high` with `Retry-After` while `used_memory` is
 * above REDIS_MEMORY_REFUSE_RATIO of `maxmemory`; the pipeline's own steps and cancels still find
 * room. INFO is read at most once a second (store/redis-memory.ts). Without `maxmemory` (0) there is
 * no threshold to keep; when INFO cannot be read the request goes on (the route answers 503 itself).
 */
import type { Middleware } from 'koa';
import { PipelineError } from '../shared/errors';
import type { RedisMemory, RedisMemoryReading } from '../store/redis-memory';

const WRITES = [/^\/conversation\/?$/, /^\/conversation\/[^/]+\/fork\/?$/, /^\/runs\/?$/, /^\/runs\/[^/]+\/seeds\/?$/];
const RETRY_AFTER_SECONDS = 10;

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export function memoryAdmission(memory: RedisMemory, ratio: number): Middleware {
  return async (ctx, next) => {
    if (ratio >= 1 || ctx.method !== 'POST' || !WRITES.some((re) => re.test(ctx.path))) return next();
    let reading: RedisMemoryReading;
    try {
      reading = await memory.read();
    } catch {
      return next();
    }
    const { usedBytes, maxBytes } = reading;
    if (maxBytes > 0 && usedBytes > ratio * maxBytes) {
      const share = Math.round((usedBytes / maxBytes) * 100);
      throw new PipelineError(
        `Redis is using ${mb(usedBytes)} of its maxmemory ${mb(maxBytes)} (${share}%), above REDIS_MEMORY_REFUSE_RATIO=${ratio}: new work is refused so the running conversations can finish. ` +
          "Retry later (finished conversations expire after RETENTION_SECONDS), or raise Redis's maxmemory.",
        {
          code: 'redis_memory_high',
          status: 429,
          retryable: true,
          details: { usedBytes, maxBytes, ratio, setting: 'REDIS_MEMORY_REFUSE_RATIO', retryAfterSeconds: RETRY_AFTER_SECONDS },
        },
      );
    }
    return next();
  };
}
