/**
 * What every measurement gets from `bench/run.ts`: the bench-owned Redis, an admin connection to
 * it, the run mode and a progress logger (stderr, so stdout stays the report).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface BenchContext {
  /** URL of the redis-server this run started (startEmbeddedRedis). */
  redisUrl: string;
  /** A plain connection for INFO, MEMORY USAGE, SLOWLOG and FLUSHALL. */
  admin: Redis;
  /** `--quick`: shorter windows and fewer samples (CI). */
  quick: boolean;
  /** A fresh BullMQ prefix with a hash tag. */
  prefix(label: string): string;
  /** Progress line on stderr. */
  progress(message: string): void;
}

export function createBenchContext(redisUrl: string, admin: Redis, quick: boolean): BenchContext {
  const t0 = Date.now();
  return {
    redisUrl,
    admin,
    quick,
    prefix: (label) => `{bench-${label}-${randomBytes(3).toString('hex')}}`,
    progress: (message) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`),
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
