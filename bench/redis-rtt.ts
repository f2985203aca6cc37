/**
 * `redis_rtt_ms_p50`: the floor under every Redis command the pipeline sends — a PING round trip
 * from Node (ioredis) to the bench's redis-server on loopback, one at a time.
 */
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import type { BenchContext } from './bench-context';
import { summarize, type Summary } from './stats';

export async function measureRedisRtt(ctx: BenchContext): Promise<Summary> {
  const conn = createWorkerConnection(ctx.redisUrl);
  try {
    await waitReady(conn);
    const n = ctx.quick ? 2000 : 10_000;
    for (let i = 0; i < 500; i++) await conn.ping();
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await conn.ping();
      samples.push(performance.now() - t);
    }
    return summarize(samples);
  } finally {
    conn.disconnect();
  }
}
