/**
 * A subscriber's channels: SUBSCRIBE all at once, or with sharded pub/sub (REDIS_SHARDS on a
 * cluster: each shard's events channel) SSUBSCRIBE each on its own, since a shard channel belongs
 * to its slot and one SSUBSCRIBE cannot span slots. ioredis's Cluster client (with
 * `shardedSubscribers`) sends each to the master of the channel's slot and follows failovers.
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
