/**
 * REDIS_SHARDS is fixed at deploy time (store/shard-layout.ts), against a real redis-server: the
 * first process records it, a process with the same value starts, and a producer or worker started
 * with another value is refused before it touches the work, naming REDIS_SHARDS and the key.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ConfigError } from '../../../shared/errors';
import { ShardSet } from '../../../shared/redis-shards';
import { checkShardLayout, shardLayoutKey } from '../../../store/shard-layout';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { startTestStack } from '../../helpers/test-stack';

describe('REDIS_SHARDS recorded once per deployment (real Redis)', function () {
  this.timeout(30_000);
  let redis: Redis;
  before(() => {
    redis = new Redis(testRedisUrl());
  });
  after(() => redis.disconnect());

  it('the first process records the number; the same number passes, another is refused naming REDIS_SHARDS', async () => {
    const prefix = uniquePrefix('layout');
    await checkShardLayout(redis, new ShardSet(prefix, 3));
    assert.equal(await redis.get(shardLayoutKey(prefix)), '3');
    await checkShardLayout(redis, new ShardSet(prefix, 3));
    await assert.rejects(checkShardLayout(redis, new ShardSet(prefix, 1)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, 'REDIS_SHARDS');
      assert.match(err.message, /REDIS_SHARDS=1, but this Redis holds a deployment laid out for 3 shard/);
      assert.match(err.message, new RegExp(`delete ${shardLayoutKey(prefix).replace(/[{}]/g, '\\$&')}`));
      return true;
    });
  });

  it('a stack started with another REDIS_SHARDS than the deployment recorded does not start', async () => {
    const prefix = uniquePrefix('layout');
    const first = await startTestStack({ QUEUE_PREFIX: prefix, REDIS_SHARDS: '3' });
    await first.close();
    await assert.rejects(startTestStack({ QUEUE_PREFIX: prefix, REDIS_SHARDS: '1' }), /REDIS_SHARDS=1, but this Redis holds/);
    assert.equal(await redis.get(shardLayoutKey(prefix)), '3', 'the record is left as it was');
  });
});
