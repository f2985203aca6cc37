/**
 * Where Redis is, as the configuration names it: one node's URL (REDIS_URL), a Redis Cluster's
 * startup nodes (REDIS_CLUSTER_NODES) or the sentinels of a primary with replicas (REDIS_SENTINELS,
 * REDIS_SENTINEL_MASTER); each node or sentinel `host:port`, `[v6]:port` or a `redis://` /
 * `rediss://[user:pass@]host:port` URL. No connection here: `redis-connection.ts` builds them.
 *
 * @example
 * const target = redisTargetOf(config);   // 'redis://…', { clusterNodes }, { sentinels, master } or undefined
 * describeTarget(target!);                // for logs and the banner, without the password
 */

/**
 * Where Redis is: one node's URL, a cluster's startup nodes, or the sentinels of a primary (each
 * `host:port` or `redis[s]://[user:pass@]host:port`) with the master's name.
 */
export type RedisTarget = string | { clusterNodes: readonly string[] } | { sentinels: readonly string[]; master: string };

/** The target a configuration names: REDIS_CLUSTER_NODES, REDIS_SENTINELS, REDIS_URL; undefined when none is set. */
export function redisTargetOf(config: {
  redisUrl?: string;
  redisClusterNodes?: readonly string[];
  redisSentinels?: readonly string[];
  redisSentinelMaster?: string;
}): RedisTarget | undefined {
  if (config.redisClusterNodes?.length) return { clusterNodes: config.redisClusterNodes };
  if (config.redisSentinels?.length) return { sentinels: config.redisSentinels, master: config.redisSentinelMaster ?? 'mymaster' };
  return config.redisUrl;
}

/** A target as a log or a banner shows it: the URL (password hidden), `cluster host:port,…` or `sentinel <master> host:port,…`. */
export function describeTarget(target: RedisTarget): string {
  if (typeof target !== 'string' && 'clusterNodes' in target)
    return `cluster ${target.clusterNodes.map((n) => clusterNode(n).address).join(',')}`;
  if (typeof target !== 'string') return `sentinel ${target.master} ${target.sentinels.map((n) => clusterNode(n).address).join(',')}`;
  try {
    const u = new URL(target);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return target;
  }
}

export interface ClusterNode {
  host: string;
  port: number;
  address: string;
  tls: boolean;
  username?: string;
  password?: string;
}

/** One REDIS_CLUSTER_NODES entry: `host:port`, `[v6]:port`, or a `redis://` / `rediss://` URL. */
export function clusterNode(entry: string): ClusterNode {
  const url = new URL(/^rediss?:\/\//i.test(entry) ? entry : `redis://${entry}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host || !url.port) throw new Error(`"${entry}" is not host:port`);
  const port = Number(url.port);
  return {
    host,
    port,
    address: `${url.hostname}:${port}`,
    tls: url.protocol === 'rediss:',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}
