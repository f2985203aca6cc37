/**
 * A subscriber's channels: SUBSCRIBE all at once, or with sharded pub/sub (REDIS_SHARDS on a
 * cluster: each shard's events channel) SSUBSCRIBE each on its own, since a shard channel belongs
 * to its slot and one SSUBSCRIBE cannot span slots ("All the specified shard channels needs to
 * belong to a single slot", redis.io SSUBSCRIBE; SPUBLISH: "forwarded to all the nodes in the
 * shard", not to every node as PUBLISH is; both since Redis 7.0; read 2026-12-04). ioredis's Cluster
 * client with `shardedSubscribers` (ioredis 6.0.0, built/cluster/ClusterOptions.d.ts: "one
 * additional subscriber connection per master node") sends each to the master of the channel's
 * slot; test/integration/cluster/failover.test.ts shows it following a failover.
 */
import type { Redis } from 'ioredis';
/** SUBSCRIBE to `channels`, or SSUBSCRIBE each one on its own (a shard channel's slot is its own). */
export async function subscribeAll(subscriber: Redis, channels: readonly string[], sharded: boolean): Promise<void> {
  if (!sharded) {
    await subscriber.subscribe(...channels);
    return;
  }
  for (const ch of channels) await subscriber.ssubscribe(ch);
}
