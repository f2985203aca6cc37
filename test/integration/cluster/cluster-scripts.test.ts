/**
 * Every Lua script of store/lua and coordination/lua on a real Redis Cluster (3 masters + 3
 * replicas, through ioredis's Cluster client): the stores' ordinary work (test/helpers/store-workload.ts)
 * under a `{hash tag}` prefix, where Redis itself refuses a key the script was not given in its
 * slot ("non local key", CROSSSLOT). Afterwards the master owning the prefix has every script in
 * its cache (each ran there) and the other masters hold none of the prefix's keys.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { closeRedis, openRedis } from '../../../assembly/redis-connections';
import { coordinationScripts } from '../../../coordination/redis-script';
import { RedisScript, readScript } from '../../../shared/redis-script';
import { shardPrefixes } from '../../../shared/redis-shards';
import { storeScripts } from '../../../store/redis-script';
import { uniquePrefix } from '../../helpers/redis';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';
import { exerciseEveryScript } from '../../helpers/store-workload';

/** Scripts that keep to their slot or do not, to show the cluster's refusal. */
const SAMPLES = path.join(__dirname, '../../helpers/lua/samples');

describe('Redis Cluster: every store and coordination script, its keys in one slot', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a script touching a key of another slot is refused by the cluster (the check has teeth)', async () => {
    const conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    try {
      // `{a}x` hashes by its tag, and so does `{a}x-elsewhere`; without the braces it is another slot.
      const sample = (name: string) => new RedisScript(readScript(name, SAMPLES).source, 1, name);
      const stray = sample('same-tag');
      const outside = sample('outside-slot');
      assert.equal(await stray.run(conn, ['{a}x'], []), null, 'a built name in the same tag stays in the slot');
      await assert.rejects(outside.run(conn, ['{a}x'], []), /non local key|same slot|CROSSSLOT|cross slot/i);
    } finally {
      await closeRedis(conn);
    }
  });

  it("every script runs through its store on the cluster; all ran on the prefix's master, no key elsewhere", async () => {
    const conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    const prefix = uniquePrefix('scripts');
    try {
      for (const port of await cluster.masters()) await cluster.admin(port).script('FLUSH');
      await exerciseEveryScript(conn, prefix);
    } finally {
      await closeRedis(conn);
    }
    const scripts = [...storeScripts.loaded.values(), ...coordinationScripts.loaded.values()];
    assert.ok(scripts.length >= 23, `scripts loaded: ${scripts.length}`);
    const owner = await cluster.masterOf(prefix);
    const exists = (await cluster.admin(owner).script('EXISTS', ...scripts.map((s) => s.sha))) as number[];
    assert.deepEqual(
      scripts.filter((_, i) => exists[i] !== 1).map((s) => s.name),
      [],
      `every script ran on ${owner}, the prefix's master`,
    );
    for (const port of await cluster.masters()) {
      if (port === owner) continue;
      assert.deepEqual(await cluster.admin(port).keys(`*${prefix}*`), [], `no key of the prefix on ${port}`);
    }
  });

  it("with 3 shards (shared/redis-shards.ts) every script keeps to each shard's slot, and the default tags fall on 3 masters", async () => {
    // `{llmconv-0}` … `{llmconv-2}` (slots 12862, 8735, 4732) land one per master of an even
    // `redis-cli --cluster create` split; `{llmconv}` (3596), the global tag, shares `{llmconv-2}`'s master.
    const owners = await Promise.all(shardPrefixes('{llmconv}', 3).map((p) => cluster.masterOf(p)));
    assert.equal(new Set(owners).size, 3, `masters of the 3 shard tags: ${owners.join(', ')}`);
    const conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    try {
      for (const prefix of shardPrefixes(uniquePrefix('shards'), 3)) await exerciseEveryScript(conn, prefix);
    } finally {
      await closeRedis(conn);
    }
  });
});
