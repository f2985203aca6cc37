/**
 * The deployment's REDIS_SHARDS, written once in Redis so that a process started with another
 * value is refused before it reads or writes anything (issue 26: the number of shards is fixed at
 * deploy time; a producer drawing ids for 3 shards while a worker consumes 1 would strand work).
 *
 * Key (on QUEUE_PREFIX, the global tag; owned here):
 *   <prefix>:shards   string   the number of shards the deployment's keys are laid out for
 *
 * The first process of a deployment writes it (SET NX); every later one compares. To change the
 * number: drain the work, stop every process, delete the key, start them all with the new value.
 */
import type { Redis } from 'ioredis';
import { ConfigError } from '../shared/errors';
import type { ShardSet } from '../shared/redis-shards';

export const shardLayoutKey = (prefix: string): string => `${prefix}:shards`;

/** Records `shards.count` where none is recorded, and refuses a different one, naming REDIS_SHARDS. */
export async function checkShardLayout(redis: Redis, shards: ShardSet): Promise<void> {
  const key = shardLayoutKey(shards.global);
  await redis.set(key, String(shards.count), 'NX');
  const recorded = await redis.get(key);
  if (recorded !== null && Number(recorded) !== shards.count) {
    throw new ConfigError(
      `REDIS_SHARDS=${shards.count}, but this Redis holds a deployment laid out for ${recorded} shard(s) under QUEUE_PREFIX=${shards.global} ` +
        `(key ${key}): every producer and worker must use the same REDIS_SHARDS. To change it, drain the work, stop every process, ` +
        `delete ${key} and start them all with the new value (docs/deploy.md, "Shards").`,
      'REDIS_SHARDS',
    );
  }
}
