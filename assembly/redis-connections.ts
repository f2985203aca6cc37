/**
 * Redis connections as the assembly opens and closes them: the two kinds (`worker`: waits and
 * reconnects; `producer`: fails fast, a 503 to the client), each reporting its errors to the
 * process's outage log (or a listener), waited for when asked, and closed one way: QUIT while Redis
 * answers, bounded, then the socket dropped (a QUIT to a Redis that is gone would wait forever).
 *
 * @example
 * const conn = await openRedis('worker', redisTargetOf(config)!, { outage, stop, readyTimeoutMs: 30_000 });
 */
import type { Redis } from 'ioredis';
import { createProducerConnection, createWorkerConnection, waitReady } from '../shared/redis-connection';
import { type RedisTarget } from '../shared/redis-target';
import type { OutageLog } from '../shared/redis-outage-log';
import type { Shutdown } from './shutdown';

export type ConnectionKind = 'worker' | 'producer';

export interface OpenRedisOptions {
  /** Reports the connection's errors at a bounded rate. */
  outage?: OutageLog;
  /** Listener for the connection's `error` events (besides or instead of `outage`). */
  onError?: (err: Error) => void;
  /** Wait until it is ready, ms; `false` not to wait (the producer's own connection). Default waitReady's (10 s). */
  readyTimeoutMs?: number | false;
  /** Registers `closeRedis` on it. */
  stop?: Shutdown;
}

/** Opens a connection of `kind` to `target` (one node's URL or a cluster's nodes: shared/redis-connection.ts), with its error wiring, and waits for it unless told not to. */
export async function openRedis(kind: ConnectionKind, target: RedisTarget, opts: OpenRedisOptions = {}): Promise<Redis> {
  const conn = kind === 'worker' ? createWorkerConnection(target) : createProducerConnection(target);
  if (opts.onError) conn.on('error', opts.onError);
  opts.outage?.watch(conn);
  opts.stop?.add(`redis (${kind})`, () => closeRedis(conn));
  if (opts.readyTimeoutMs !== false) {
    try {
      await waitReady(conn, opts.readyTimeoutMs);
    } catch (err) {
      if (!opts.stop) conn.disconnect();
      throw err;
    }
  }
  return conn;
}

/** QUIT when Redis answers (bounded by `boundMs`), then drop the socket; at once when it does not. */
export async function closeRedis(conn: Redis, boundMs = 1000): Promise<void> {
  if (conn.status !== 'ready') return conn.disconnect();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([conn.quit().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, boundMs)))]);
  clearTimeout(timer);
  conn.disconnect();
}
