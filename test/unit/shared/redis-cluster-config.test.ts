/**
 * REDIS_CLUSTER_NODES as the configuration reads it, and which Redis errors count as "unavailable"
 * (503 with Retry-After, the outage log's rate-limited line): a cluster's MOVED, ASK, CLUSTERDOWN,
 * TRYAGAIN and the Cluster client's own errors, besides a lost connection.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../../shared/config';
import { isRedisConnectionError } from '../../../shared/redis-connection';
import { clusterNode, describeTarget, redisTargetOf } from '../../../shared/redis-target';

describe('REDIS_CLUSTER_NODES', () => {
  it('host:port lists and redis(s):// URLs become the target; REDIS_URL is the target without it', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' });
    assert.deepEqual(redisTargetOf(c), { clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7001'] });
    assert.equal(redisTargetOf(loadConfig({ REDIS_URL: 'redis://h:6379' })), 'redis://h:6379');
    const tls = clusterNode('rediss://app:s3cret@clustercfg.x.cache.amazonaws.com:6379');
    assert.deepEqual(
      { host: tls.host, port: tls.port, tls: tls.tls, username: tls.username, password: tls.password },
      { host: 'clustercfg.x.cache.amazonaws.com', port: 6379, tls: true, username: 'app', password: 's3cret' },
    );
    assert.equal(describeTarget({ clusterNodes: ['rediss://app:s3cret@a:1', 'rediss://app:s3cret@b:2'] }), 'cluster a:1,b:2');
  });

  it('refuses, naming the key: no port, both keys set, mixed schemes or credentials, the example password', () => {
    const refuse = (env: Record<string, string>, re: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (err: Error & { key?: string }) => re.test(err.message) && err.key === 'REDIS_CLUSTER_NODES',
      );
    refuse({ REDIS_CLUSTER_NODES: 'node-a' }, /"node-a" is not host:port/);
    refuse({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://b:2' }, /both set/);
    refuse({ REDIS_CLUSTER_NODES: 'rediss://a:1,redis://b:2' }, /same scheme and credentials/);
    refuse({ REDIS_CLUSTER_NODES: 'redis://:__SET_ME__@a:1' }, /example password/);
  });

  it('a QUEUE_PREFIX without a {hash tag} is refused on a cluster (its scripts would be CROSSSLOT), naming QUEUE_PREFIX', () => {
    assert.throws(
      () => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_PREFIX: 'llmconv' }),
      (err: Error & { key?: string }) => /no \{hash tag\}.*"\{llmconv\}"/.test(err.message) && err.key === 'QUEUE_PREFIX',
    );
    assert.doesNotThrow(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_PREFIX: 'app:{llmconv}' }));
    assert.doesNotThrow(() => loadConfig({ REDIS_URL: 'redis://a:1', QUEUE_PREFIX: 'llmconv' }), 'one node: any prefix');
  });
});

describe('REDIS_SENTINELS', () => {
  it('the sentinels and the master name become the target; alone among the three ways to reach Redis', () => {
    const c = loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379', REDIS_SENTINEL_MASTER: 'main' });
    assert.deepEqual(redisTargetOf(c), { sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], master: 'main' });
    assert.equal((redisTargetOf(loadConfig({ REDIS_SENTINELS: 'a:1' })) as { master: string }).master, 'mymaster');
    assert.equal(describeTarget({ sentinels: ['redis://:pw@a:1'], master: 'main' }), 'sentinel main a:1');
    for (const other of [{ REDIS_URL: 'redis://b:2' }, { REDIS_CLUSTER_NODES: 'b:2' }])
      assert.throws(
        () => loadConfig({ REDIS_SENTINELS: 'a:1', ...other }),
        (err: Error & { key?: string }) => /set one way to reach Redis/.test(err.message) && err.key === 'REDIS_SENTINELS',
      );
  });
});

describe('Redis errors that mean "unavailable, try again"', () => {
  it("a cluster's redirections and failover answers, and the Cluster client's own errors", () => {
    for (const message of [
      'MOVED 3596 127.0.0.1:7001',
      'ASK 3596 127.0.0.1:7002',
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      "Cluster isn't ready and enableOfflineQueue options is false",
      'Failed to refresh slots cache.',
      'None of startup nodes is available',
      'Too many Cluster redirections. Last error: Error: MOVED 1 x:1',
    ])
      assert.equal(isRedisConnectionError(new Error(message)), true, message);
  });

  it('not a script error, a wrong type or a message that merely contains the words', () => {
    for (const message of [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'ERR Error running script: user_script:1: non local key',
      'the conversation MOVED to another run',
    ])
      assert.equal(isRedisConnectionError(new Error(message)), false, message);
  });
});
