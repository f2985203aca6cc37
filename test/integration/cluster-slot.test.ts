/**
 * Redis Cluster safety of the `{hash tag}` queue prefix: a whole conversation runs against a
 * cluster-enabled redis-server (one node owning all 16384 slots, so a plain client can talk to it
 * while Redis still enforces the Cluster rules: every multi-key command and BullMQ Lua script
 * must stay in one slot), and afterwards every key it left has the same CLUSTER KEYSLOT.
 */
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { uniquePrefix } from '../helpers/redis';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

async function scanAll(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe('Redis Cluster: the {hash tag} prefix keeps a conversation in one slot', function () {
  this.timeout(60_000);
  let cluster: EmbeddedRedis;
  let admin: Redis;
  let stack: TestStack | undefined;

  before(async () => {
    cluster = await startEmbeddedRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] });
    admin = new IORedis(cluster.url, { maxRetriesPerRequest: 1 });
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await until(async () => /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))), 10_000, 'cluster_state:ok');
  });
  after(async () => {
    await stack?.close();
    await admin?.quit();
    await cluster?.stop();
  });

  it("a conversation completes in cluster mode and every key it leaves hashes to the prefix's slot", async () => {
    const prefix = uniquePrefix('cluster');
    stack = await startTestStack({ REDIS_URL: cluster.url, QUEUE_PREFIX: prefix });
    const res = await stack.http.post(
      '/conversation',
      { initialQuery: 'Is this cluster-safe?', maxTurns: 3 },
      { headers: { 'idempotency-key': 'cluster-1' } },
    );
    assert.equal(res.status, 202);
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed');
    assert.equal(view.turnsCompleted, 3);

    const keys = await scanAll(admin);
    assert.ok(keys.length >= 5, `expected the store's and the queues' keys, got ${JSON.stringify(keys)}`);
    const expected = Number(await admin.call('CLUSTER', 'KEYSLOT', prefix));
    const slots = new Map<string, number>();
    for (const key of keys) slots.set(key, Number(await admin.call('CLUSTER', 'KEYSLOT', key)));
    const strays = [...slots].filter(([, slot]) => slot !== expected);
    assert.deepEqual(strays, [], `keys outside slot ${expected}`);
    assert.ok(
      keys.every((k) => k.startsWith(prefix)),
      'every key lives under the prefix',
    );
  });

  it("without a hash tag, BullMQ's multi-key scripts are refused in cluster mode (the check has teeth)", async () => {
    const conn = new IORedis(cluster.url, { maxRetriesPerRequest: null });
    const queue = new Queue('cloud', { connection: conn, prefix: 'llmconv-untagged' });
    try {
      await assert.rejects(queue.add('cloud', { conversationId: 'x', turn: 1 }), /CROSSSLOT|same slot/);
    } finally {
      await queue.close();
      await conn.quit();
    }
  });
});
