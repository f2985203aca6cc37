/**
 * Redis connections for the two kinds of process. Workers block and must ride out Redis restarts
 * (`maxRetriesPerRequest: null`, endless reconnect); the producer must fail fast so an HTTP client
 * gets a 503 instead of a hang (`enableOfflineQueue: false`, one retry).
 * BullMQ's own `prefix` namespaces keys; ioredis `keyPrefix` is never used.
 *
 * A target is one node's URL (REDIS_URL) or a Redis Cluster's startup nodes (REDIS_CLUSTER_NODES):
 * then the connection is ioredis's `Cluster` client, which follows MOVED/ASK, refreshes the slot map
 * after a failover and reconnects to the promoted replica by itself. Read on 2026-12-04 in
 * github:redis/ioredis (README "Cluster", "Special Note: Aws Elasticache Clusters with TLS";
 * lib/cluster/ClusterOptions.ts, lib/cluster/util.ts `normalizeNodeOptions`): a startup node may be a
 * URL, but its password and TLS apply to that node only, so both go into `redisOptions` for the nodes
 * the client discovers; with TLS, `dnsLookup: (address, cb) => cb(null, address)` keeps the host name
 * for the certificate check (ElastiCache, MemoryDB). A third form is a primary with replicas under
 * Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): ioredis's Sentinel client asks the sentinels
 * for the master and, after a failover, for the new one (README "Sentinel", read 2026-12-04); it
 * is an ordinary `Redis` object. The `Cluster` object is typed `Redis` here: it
 * answers the same commands; `duplicateConnection` and `mastersOf` cover where the two differ.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { PipelineError } from './errors';
import { clusterNode, type RedisTarget } from './redis-target';

const RECONNECT_MAX_MS = 2000;
const SLOTS_REFRESH_MS = 2000;

const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), RECONNECT_MAX_MS);

/** The `Cluster` client's options for `nodes`, each node's connection built from `node`. */
function clusterOf(entries: readonly string[], node: RedisOptions, cluster: ClusterOptions): Redis {
  const nodes = entries.map(clusterNode);
  const first = nodes[0];
  const redisOptions: RedisOptions = {
    ...node,
    ...(first?.username ? { username: first.username } : {}),
    ...(first?.password ? { password: first.password } : {}),
    ...(first?.tls ? { tls: {} } : {}),
  };
  const client = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      redisOptions,
      clusterRetryStrategy: retryStrategy,
      // No periodic refresh by default (ioredis 6 ClusterOptions): a command queued on a killed
      // master waited until some error refreshed the map (~30 s measured). Every 2 s, a CLUSTER SLOTS
      // drops the dead node and its queued commands go to the promoted replica.
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      // TLS: connect by host name, so the certificate's name matches (ioredis README, ElastiCache note).
      ...(first?.tls ? { dnsLookup: (address: string, cb: (err: Error | null, address: string) => void) => cb(null, address) } : {}),
      ...cluster,
    },
  );
  return client as unknown as Redis;
}

/**
 * ioredis's Sentinel client: the entries' credentials and TLS serve the sentinels and the Redis
 * servers alike (`password` and `sentinelPassword`, `tls` and `enableTLSForSentinelMode`).
 */
function sentinelOf(target: { sentinels: readonly string[]; master: string }, node: RedisOptions): Redis {
  const sentinels = target.sentinels.map(clusterNode);
  const first = sentinels[0];
  return new Redis({
    ...node,
    sentinels: sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: target.master,
    ...(first?.username ? { username: first.username, sentinelUsername: first.username } : {}),
    ...(first?.password ? { password: first.password, sentinelPassword: first.password } : {}),
    ...(first?.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  });
}

/** Whether a connection is ioredis's `Cluster` client. */
export function isCluster(conn: Redis): boolean {
  return (conn as unknown as { isCluster?: boolean }).isCluster === true;
}

/** Every master's connection of a cluster (ready or not); the connection itself on one node. */
export function mastersOf(conn: Redis): Redis[] {
  return isCluster(conn) ? (conn as unknown as Cluster).nodes('master') : [conn];
}

/**
 * `INFO <section>` as the memory admission reads it: on one node that node's; on a cluster the
 * reply of the master fullest against its `maxmemory` (the data lives on the prefix's master, and a
 * keyless INFO through the Cluster client goes to any node).
 */
export function fullestMasterInfo(conn: Redis): { info(section: string): Promise<string> } {
  if (!isCluster(conn)) return { info: (section) => conn.info(section) };
  const ratio = (info: string) => {
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const max = field('maxmemory');
    return max > 0 ? field('used_memory') / max : 0;
  };
  return {
    async info(section) {
      const replies = await Promise.all(mastersOf(conn).map((m) => m.info(section)));
      if (replies.length === 0) throw new RedisUnavailableError(new Error('no master of the cluster is known yet'));
      return replies.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
    },
  };
}

/**
 * A new connection like `conn` (to the same node or cluster), with `overrides` on each node's
 * options. For a subscriber: `Cluster.duplicate` takes startup nodes first, `Redis.duplicate` options.
 */
export function duplicateConnection(conn: Redis, overrides: RedisOptions = {}, opts: { shardedSubscribers?: boolean } = {}): Redis {
  if (!isCluster(conn)) return conn.duplicate(overrides);
  const c = conn as unknown as Cluster;
  const clusterOverrides: ClusterOptions = { redisOptions: { ...c.options.redisOptions, ...overrides } };
  // A subscriber of shard channels (SSUBSCRIBE): one subscriber connection per master.
  if (opts.shardedSubscribers) clusterOverrides.shardedSubscribers = true;
  if (overrides.enableOfflineQueue !== undefined) clusterOverrides.enableOfflineQueue = overrides.enableOfflineQueue;
  return c.duplicate(undefined, clusterOverrides) as unknown as Redis;
}

/** A connection for BullMQ workers and other long-lived background clients. */
export function createWorkerConnection(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const node: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy, lazyConnect: false, ...extra };
  if (typeof target === 'string') return new Redis(target, node);
  if ('sentinels' in target) return sentinelOf(target, node);
  const { lazyConnect, enableOfflineQueue, enableReadyCheck, ...rest } = node;
  return clusterOf(target.clusterNodes, rest, {
    lazyConnect,
    enableReadyCheck,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
  });
}

/** A connection for request handlers: commands fail at once while Redis is unreachable. */
export function createProducerConnection(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const node: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy,
    ...extra,
  };
  if (typeof target === 'string') return new Redis(target, node);
  if ('sentinels' in target) return sentinelOf(target, node);
  const { lazyConnect, enableOfflineQueue, retryStrategy: nodeRetry, ...rest } = node;
  // Each node's offline queue stays on: the Cluster client queues a command while it refreshes the
  // slot map after a failover; the Cluster's own offline queue is off, so a cluster that is down fails fast.
  return clusterOf(target.clusterNodes, rest, {
    lazyConnect,
    enableOfflineQueue,
    ...(nodeRetry === null ? { clusterRetryStrategy: () => null } : {}),
  });
}

/** Thrown when Redis cannot be reached; the producer answers 503. */
export class RedisUnavailableError extends PipelineError {
  constructor(cause?: unknown) {
    super('Redis is unreachable; try again shortly', { code: 'redis_unavailable', status: 503, retryable: true, cause });
    this.name = 'RedisUnavailableError';
  }
}

/**
 * A Redis Cluster's answers and the Cluster client's own errors that mean "the slot is moving or its
 * shard is down; try again": MOVED and ASK (a node that does not own the slot, or a client that has
 * not refreshed its map yet), CLUSTERDOWN (no majority, or slots uncovered), TRYAGAIN (a multi-key
 * command during resharding); "Cluster isn't ready", "Failed to refresh slots cache", "None of
 * startup nodes is available", "Too many Cluster redirections" (ioredis lib/cluster/index.ts).
 */
const CLUSTER_UNAVAILABLE =
  /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) |Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|ClusterAllFailedError/;

/** Whether an error comes from a lost or refused Redis connection, or a cluster that is failing over. */
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
    CLUSTER_UNAVAILABLE.test(msg) ||
    e.name === 'MaxRetriesPerRequestError' ||
    e.name === 'ClusterAllFailedError'
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
 * when neither can be read — callers warn loudly then. On a cluster every master is read (each
 * has its own setting): one that may evict is named with its address.
 */
export async function checkEvictionPolicy(conn: Redis): Promise<{ ok: boolean; policy: string }> {
  if (!isCluster(conn)) return policyOf(conn);
  const masters = mastersOf(conn);
  if (masters.length === 0) return { ok: false, policy: 'unknown' };
  const found = await Promise.all(masters.map(async (m) => ({ ...(await policyOf(m)), at: `${m.options.host}:${m.options.port}` })));
  const bad = found.find((f) => !f.ok);
  return bad
    ? { ok: false, policy: bad.policy === 'unknown' ? 'unknown' : `${bad.policy} (at ${bad.at})` }
    : { ok: true, policy: found[0]!.policy };
}

async function policyOf(conn: Redis): Promise<{ ok: boolean; policy: string }> {
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
