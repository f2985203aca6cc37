/**
 * Redis connections for the two kinds of process. Workers block and must ride out Redis restarts
 * (`maxRetriesPerRequest: null`, endless reconnect); the producer must fail fast so an HTTP client
 * gets a 503 instead of a hang (`enableOfflineQueue: false`, one retry).
 * BullMQ's own `prefix` namespaces keys; ioredis `keyPrefix` is never used.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { PipelineError } from './errors';

const RECONNECT_MAX_MS = 2000;

const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), RECONNECT_MAX_MS);

/** A connection for BullMQ workers and other long-lived background clients. */
export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy, lazyConnect: false, ...extra });
}

/** A connection for request handlers: commands fail at once while Redis is unreachable. */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy,
    ...extra,
  });
}

/** Thrown when Redis cannot be reached; the producer answers 503. */
export class RedisUnavailableError extends PipelineError {
  constructor(cause?: unknown) {
    super('Redis is unreachable; try again shortly', { code: 'redis_unavailable', status: 503, retryable: true, cause });
    this.name = 'RedisUnavailableError';
  }
}

/** Whether an error comes from a lost or refused Redis connection. */
export function isRedisConnectionError(err: unknown): boolean {
  const e = err as { message?: string; code?: string; name?: string } | undefined;
  if (!e) return false;
  if (e instanceof RedisUnavailableError) return true;
  const msg = e.message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '') ||
    /Stream isn't writeable|enableOfflineQueue|Connection is closed|Reached the max retries|Command timed out|connect ECONNREFUSED|LOADING/i.test(
      msg,
    ) ||
    e.name === 'MaxRetriesPerRequestError'
  );
}

/** Waits until the connection is ready (or throws after `timeoutMs`). */
export async function waitReady(conn: Redis, timeoutMs = 10_000): Promise<void> {
  if (conn.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(new RedisUnavailableError(new Error(`Redis not ready after ${timeoutMs} ms`)));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(t);
      conn.off('ready', onReady);
    };
    conn.on('ready', onReady);
  });
}

/**
 * Checks `maxmemory-policy`: BullMQ loses jobs under eviction. Returns `ok`, or the policy found.
 * CONFIG GET first; managed Redis usually disables CONFIG (ElastiCache, whose default policy is
 * `volatile-lru`, and Memorystore), so INFO's `maxmemory_policy` is the fallback. `unknown` only
 * when neither can be read — callers warn loudly then.
 */
export async function checkEvictionPolicy(conn: Redis): Promise<{ ok: boolean; policy: string }> {
  let policy: string | undefined;
  try {
    const res = (await conn.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    policy = res?.[1];
  } catch {
    /* CONFIG refused or renamed: try INFO */
  }
  if (!policy) {
    try {
      policy = /^maxmemory_policy:(\S+)/m.exec(await conn.info('memory'))?.[1];
    } catch {
      /* INFO refused too */
    }
  }
  return policy ? { ok: policy === 'noeviction', policy } : { ok: false, policy: 'unknown' };
}
