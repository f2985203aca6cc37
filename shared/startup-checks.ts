/**
 * What a process checks before it opens anything, so a mistake stops it at once naming the
 * setting to change: the port it will listen on is free (`PORT`, `METRICS_PORT`, `GATEWAY_PORT`),
 * and the Redis at `REDIS_URL` answers. Later outages are ridden out (the workers reconnect, the
 * producer answers 503); a Redis that never answered is a configuration mistake, not an outage.
 *
 * @example
 * await checkPortFree({ setting: 'PORT', host: config.host, port: config.port });
 * await checkRedisReachable(redisTargetOf(config)!);  // REDIS_URL, or each of REDIS_CLUSTER_NODES until one answers
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { ConfigError } from './errors';
import { redactUrl } from './redact-url';
import { clusterNode, type RedisTarget } from './redis-target';

export interface PortCheck {
  /** The setting that chose the port, named in the error. */
  setting: string;
  host: string;
  port: number;
}

/** Resolves when `host:port` can be listened on (port 0 always can); throws a ConfigError naming `setting`. */
export async function checkPortFree({ setting, host, port }: PortCheck): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (err.code === 'EADDRINUSE')
        reject(
          new ConfigError(
            `${setting}=${port}: ${where} is already in use (another llmconv process, or another program, listens there); stop it or set ${setting} to a free port (0 picks one)`,
            setting,
          ),
        );
      else if (err.code === 'EACCES')
        reject(
          new ConfigError(
            `${setting}=${port}: not allowed to listen on ${where} (ports below 1024 need privileges); set ${setting} to 1024 or above`,
            setting,
          ),
        );
      else if (err.code === 'EADDRNOTAVAIL')
        reject(
          new ConfigError(
            `${setting}=${port}: ${host} is not an address of this host (HOST); set HOST to one of its addresses or 127.0.0.1`,
            'HOST',
          ),
        );
      else reject(new ConfigError(`${setting}=${port}: cannot listen on ${where}: ${err.message}`, setting));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** "host:port" of a Redis URL, for messages. */
function addressOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`;
  } catch {
    return redactUrl(url);
  }
}

/**
 * Resolves when the Redis at `target` answers a PING within `timeoutMs`; else throws a ConfigError
 * naming `setting`, the address and what happened (refused, no answer, a password refused). A
 * cluster's startup nodes are tried in turn until one answers, and it must be in cluster mode.
 */
export async function checkRedisReachable(target: RedisTarget, opts: { setting?: string; timeoutMs?: number } = {}): Promise<void> {
  if (typeof target === 'string') return checkNode(target, opts.setting ?? 'REDIS_URL', opts.timeoutMs ?? 5000, 'node');
  const sentinel = 'sentinels' in target ? target.master : undefined;
  const setting = opts.setting ?? (sentinel === undefined ? 'REDIS_CLUSTER_NODES' : 'REDIS_SENTINELS');
  let first: unknown;
  for (const entry of 'sentinels' in target ? target.sentinels : target.clusterNodes) {
    const n = clusterNode(entry);
    const auth = n.password ? `${encodeURIComponent(n.username ?? '')}:${encodeURIComponent(n.password)}@` : '';
    const url = `${n.tls ? 'rediss' : 'redis'}://${auth}${n.address}`;
    try {
      return await checkNode(url, setting, opts.timeoutMs ?? 5000, sentinel === undefined ? 'cluster' : { sentinelOf: sentinel });
    } catch (err) {
      if (/not a Redis Cluster|knows no master/.test((err as Error).message)) throw err;
      first ??= err;
    }
  }
  throw first;
}

async function checkNode(
  url: string,
  setting: string,
  timeoutMs: number,
  kind: 'node' | 'cluster' | { sentinelOf: string },
): Promise<void> {
  const shown = `${setting}=${redactUrl(url)}`;
  const conn = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  let lastError: Error | undefined;
  conn.on('error', (err: Error) => (lastError = err));
  try {
    await conn.connect();
    await conn.ping();
  } catch (err) {
    const e = (lastError ?? err) as NodeJS.ErrnoException;
    const why = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(e.message)
      ? `Redis at ${addressOf(url)} refused the credentials (${e.message}); fix the user/password in ${setting}`
      : e.code === 'ECONNREFUSED'
        ? `nothing accepts connections at ${addressOf(url)} (connection refused); start Redis there or set ${setting} to where it runs`
        : /Unknown RESP type|Protocol error/i.test(e.message)
          ? `something at ${addressOf(url)} answers, but not as Redis (${e.message}); set ${setting} to the Redis server's address`
          : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
            ? `the host of ${addressOf(url)} does not resolve; fix the host in ${setting}`
            : `Redis at ${addressOf(url)} did not answer within ${timeoutMs} ms (${e.message}); is ${setting} right, and is Redis up and reachable from here?`;
    conn.disconnect();
    throw new ConfigError(`${shown}: ${why} (unset under \`npm start\`: the embedded Redis)`, setting);
  }
  try {
    if (typeof kind === 'object') {
      const addr = await conn.call('SENTINEL', 'get-master-addr-by-name', kind.sentinelOf).catch(() => null);
      if (!addr)
        throw new ConfigError(
          `${shown}: the sentinel at ${addressOf(url)} knows no master named "${kind.sentinelOf}"; set REDIS_SENTINEL_MASTER to the name in its \`sentinel monitor\` line`,
          'REDIS_SENTINEL_MASTER',
        );
    } else if (kind === 'cluster') {
      const enabled = /^cluster_enabled:1/m.test(await conn.info('cluster').catch(() => 'cluster_enabled:1'));
      if (!enabled)
        throw new ConfigError(
          `${shown}: Redis at ${addressOf(url)} is not a Redis Cluster (cluster_enabled:0); set REDIS_URL for one node, REDIS_CLUSTER_NODES for a cluster`,
          setting,
        );
    }
  } finally {
    conn.disconnect();
  }
}
