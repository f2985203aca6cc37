/**
 * `redis`: REDIS_URL (or REDIS_CLUSTER_NODES: every master's policy is read) answers, with `maxmemory-policy noeviction` (BullMQ loses jobs under
 * eviction: the workers refuse to start otherwise) and AOF on (a restart keeps queued work;
 * deploy/redis/redis.conf). Uses the producer's connection when given one (`/ready?verbose=1`).
 * Error text is reduced to its code or first words: no URLs, no passwords.
 */
import type { Redis } from 'ioredis';
import { checkEvictionPolicy, createProducerConnection } from '../shared/redis-connection';
import { describeTarget, redisTargetOf } from '../shared/redis-target';
import { redactUrl } from '../shared/redact-url';
import { type Check, type CheckResult, fail, ok, skip, warn, within } from './check-result';

const NAME = 'redis';

/** A short, safe reason for a Redis failure. */
function reason(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string };
  if (e?.code) return e.code;
  if (e?.name === 'TimeoutError') return e.message ?? 'timeout';
  return (e?.message ?? String(err)).split(/[:\n]/)[0]!.slice(0, 80);
}

async function aofOn(conn: Redis): Promise<boolean | undefined> {
  try {
    const res = (await conn.call('CONFIG', 'GET', 'appendonly')) as string[];
    if (res?.[1]) return res[1] === 'yes';
  } catch {
    /* CONFIG disabled (managed Redis): INFO */
  }
  try {
    const m = /^aof_enabled:(\d)/m.exec(await conn.info('persistence'));
    return m ? m[1] === '1' : undefined;
  } catch {
    return undefined;
  }
}

/** The Redis lines for one connection. */
export async function redisLines(conn: Redis, where: string, timeoutMs: number): Promise<CheckResult[]> {
  try {
    await within(conn.ping(), timeoutMs, 'Redis');
  } catch (err) {
    return [
      fail(NAME, `${where} does not answer (${reason(err)})`, 'start Redis or fix the host, port and password in REDIS_URL', 'REDIS_URL'),
    ];
  }
  const out: CheckResult[] = [];
  const policy = await within(checkEvictionPolicy(conn), timeoutMs, 'Redis').catch(() => ({ ok: false, policy: 'unknown' }));
  if (policy.ok) out.push(ok('redis.eviction', `${where}: maxmemory-policy noeviction`));
  else if (policy.policy === 'unknown')
    out.push(
      warn(
        'redis.eviction',
        `${where}: maxmemory-policy cannot be read (CONFIG and INFO refused)`,
        'make sure the server runs with maxmemory-policy noeviction (deploy/redis/redis.conf)',
        'REDIS_URL',
      ),
    );
  else
    out.push(
      fail(
        'redis.eviction',
        `${where}: maxmemory-policy ${policy.policy}: Redis may evict BullMQ's keys and lose jobs; the workers refuse to start`,
        'set maxmemory-policy noeviction on the server (deploy/redis/redis.conf; on ElastiCache in the parameter group)',
        'REDIS_URL',
      ),
    );
  const aof = await within(aofOn(conn), timeoutMs, 'Redis').catch(() => undefined);
  if (aof === true) out.push(ok('redis.aof', `${where}: appendonly yes`));
  else if (aof === false)
    out.push(
      warn(
        'redis.aof',
        `${where}: AOF is off: a Redis restart loses the queued work since the last snapshot`,
        'set appendonly yes on the server (deploy/redis/redis.conf)',
        'REDIS_URL',
      ),
    );
  else
    out.push(
      warn(
        'redis.aof',
        `${where}: AOF state cannot be read`,
        'make sure the server runs with appendonly yes (deploy/redis/redis.conf)',
        'REDIS_URL',
      ),
    );
  return [ok(NAME, `${where} answers`), ...out];
}

export function redisCheck(connection?: Redis): Check {
  return async (ctx) => {
    if (connection) return redisLines(connection, "the producer's Redis", ctx.timeoutMs);
    const url = redisTargetOf(ctx.config);
    if (!url) return [skip(NAME, 'REDIS_URL unset: `npm start` runs an embedded redis-server (noeviction, AOF)')];
    const conn = createProducerConnection(url, {
      lazyConnect: true,
      retryStrategy: () => null,
      connectTimeout: Math.min(ctx.timeoutMs, 5000),
    });
    conn.on('error', () => undefined);
    try {
      await within(conn.connect(), ctx.timeoutMs, 'Redis').catch(() => undefined);
      return await redisLines(conn, typeof url === 'string' ? redactUrl(url) : describeTarget(url), ctx.timeoutMs);
    } finally {
      conn.disconnect();
    }
  };
}
