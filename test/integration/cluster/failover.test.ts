/**
 * Failover on a real 3 masters + 3 replicas cluster: mid-run, kill -9 of the master owning the
 * prefix's slot. Its replica is promoted (cluster-node-timeout 1.5 s in the helper), the Cluster
 * client follows the new slot map, and every conversation completes with each turn once, the
 * stack never restarted; then the old master comes back, rejoins as a replica and nothing flaps:
 * new conversations complete and the error lines stay bounded.
 */
import assert from 'node:assert/strict';
import { closeRedis, openRedis } from '../../../assembly/redis-connections';
import { createLogger } from '../../../shared/logger';
import { createOutageLog } from '../../../shared/redis-outage-log';
import { checkCompleteTranscript, leftoverJobs } from '../../faults/fixtures/transcript-check';
import { ShardSet, shardPrefixes } from '../../../shared/redis-shards';
import { EventHub } from '../../../coordination/event-hub';
import { duplicateConnection } from '../../../shared/redis-connection';
import { uniquePrefix } from '../../helpers/redis';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

/** Waits for conversation `id` and asserts it completed with turns 1..maxTurns, each once, in order; its view. */
async function completedOnce(st: TestStack, id: string, maxTurns: number): Promise<any> {
  const view = await waitForConversation(st, id, 60_000);
  assert.equal(view.status, 'completed', `${id}: ${JSON.stringify(view).slice(0, 300)}`);
  assert.deepEqual(
    view.turns.map((t: { turn: number }) => t.turn),
    Array.from({ length: maxTurns }, (_, k) => k + 1),
    `${id}: each turn once, in order`,
  );
  return view;
}

describe('Redis Cluster failover: kill -9 of the master holding the slot, mid-run', function () {
  this.timeout(120_000);
  let cluster: RedisCluster;
  let stack: TestStack | undefined;

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await stack?.close();
    await cluster?.stop();
  });

  it('every conversation completes with each turn once; the old master rejoins as a replica and nothing flaps', async () => {
    const prefix = uniquePrefix('failover');
    const lines: Array<{ msg: string }> = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
    stack = await startTestStack(
      {
        REDIS_URL: undefined,
        REDIS_CLUSTER_NODES: cluster.addresses.join(','),
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'info',
        // Replication is asynchronous: a slot lease's release written just before the kill may be
        // lost with the old master, and the slot comes back at the lease's expiry (30 s by default).
        OLLAMA_SLOT_LEASE_MS: '3000',
      },
      { logger, emulatorLatencyMs: 40 },
    );
    const st = stack;
    // A Cluster connection of the test's own, with a short interval, to see the outage end.
    const { logger: probeLogger, lines: probeLines } = (() => {
      const l: Array<{ msg: string }> = [];
      return { logger: createLogger({ level: 'info', destination: { write: (s: string) => void l.push(JSON.parse(s)) } }), lines: l };
    })();
    const probeOutage = createOutageLog(probeLogger, 'probe', 500);
    const probe = await openRedis('worker', { clusterNodes: cluster.addresses }, { outage: probeOutage });
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        await probe.set(`${prefix}:probe`, String(Date.now())).catch((err: Error) => probeOutage.error(err));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const maxTurns = 6;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await st.http.post('/conversation', { initialQuery: `Failover question ${i}?`, maxTurns });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    // Mid-run: some turns done, none finished.
    await until(
      async () => {
        const v = (await st.http.get(`/conversation/${ids[0]}`)).data;
        return v.turnsCompleted >= 2;
      },
      20_000,
      'two turns of the first conversation',
    );
    const victim = await cluster.masterOf(prefix);
    const killedAt = Date.now();
    await cluster.kill(victim);
    await until(async () => (await cluster.masterOf(prefix).catch(() => victim)) !== victim, 30_000, 'a replica promoted');
    const promotedMs = Date.now() - killedAt;
    for (const id of ids) {
      const view = await completedOnce(st, id, maxTurns);
      for (const t of view.turns) assert.ok(t.cloudResponse && t.ollamaResponse, `${id} turn ${t.turn} has both sides`);
    }
    const recoveredMs = Date.now() - killedAt;
    // Each conversation's transcript and record: every turn's two steps exactly once, none missing.
    for (const id of ids) await checkCompleteTranscript(st.store, st.outputDir, id, maxTurns);
    await until(async () => Object.keys(await leftoverJobs(st.queues)).length === 0, 10_000, 'queues to drain');

    // The test's own Cluster connection said the outage was over, with no 'ready' from the client.
    await until(() => !probeOutage.state().down, 10_000, 'the outage log to see the recovery');
    assert.ok(
      probeLines.some((l) => /Redis reachable again \(probe\)/.test(l.msg)) || !probeLines.some((l) => /unreachable/.test(l.msg)),
      JSON.stringify(probeLines),
    );

    // The old master comes back: it rejoins as a replica of the promoted one.
    await cluster.restart(victim);
    await until(async () => ((await cluster.admin(victim).call('ROLE')) as string[])[0] === 'slave', 20_000, 'the old master a replica');
    await cluster.waitHealthy();
    const after = await st.http.post('/conversation', { initialQuery: 'After the rejoin?', maxTurns: 2 });
    assert.equal(after.status, 202, JSON.stringify(after.data));
    const v = await waitForConversation(st, after.data.conversationId, 30_000);
    assert.equal(v.status, 'completed');
    assert.equal((await cluster.masterOf(prefix)) !== victim, true, 'no flap back: the promoted replica stays master');

    probing = false;
    await probeLoop;
    await closeRedis(probe);
    probeOutage.close();
    const redisLines = lines.filter((l) => /redis|Redis/.test(l.msg));
    // One outage: a first line and one per 10 s per part, not a line per error (the issue saw 70,000).
    assert.ok(redisLines.length <= 20, `${redisLines.length} Redis lines: ${JSON.stringify(redisLines.slice(0, 5))}`);
    console.log(
      `      failover: replica promoted ${promotedMs} ms after kill -9; every conversation completed ${recoveredMs} ms after; ${redisLines.length} Redis log lines`,
    );
  });

  it("REDIS_SHARDS=3: kill -9 of one shard's master mid-run; every shard's conversations complete, each turn once", async () => {
    await stack?.close();
    stack = undefined;
    await cluster.waitHealthy();
    // A prefix whose three shard tags are on three masters, the global tag on one of them.
    let prefix = '';
    let owners: number[] = [];
    for (;;) {
      prefix = uniquePrefix('fshard');
      owners = await Promise.all(shardPrefixes(prefix, 3).map((p) => cluster.masterOf(p)));
      if (new Set(owners).size === 3) break;
    }
    const shards = new ShardSet(prefix, 3);
    const globalMaster = await cluster.masterOf(prefix);
    // The shard to kill: one whose master does not also hold the global tag (the others go on meanwhile).
    const victimShard = owners.findIndex((port) => port !== globalMaster);
    const victim = owners[victimShard]!;
    stack = await startTestStack(
      {
        REDIS_URL: undefined,
        REDIS_CLUSTER_NODES: cluster.addresses.join(','),
        QUEUE_PREFIX: prefix,
        REDIS_SHARDS: '3',
        OLLAMA_SLOT_LEASE_MS: '3000',
      },
      { emulatorLatencyMs: 40 },
    );
    const st = stack;
    // A sharded subscriber of every shard's events channel, started before the kill: it must follow the failover.
    const hub = new EventHub(
      duplicateConnection(st.store.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true }, { shardedSubscribers: true }),
      st.store.eventsChannels,
      true,
    );
    await hub.start();
    const maxTurns = 5;
    const ids: string[] = [];
    for (let i = 0; i < 18; i++) {
      const res = await st.http.post('/conversation', { initialQuery: `Sharded failover ${i}?`, maxTurns });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    const onVictim = ids.filter((id) => shards.shardOf(id) === victimShard);
    assert.ok(
      onVictim.length > 0 && onVictim.length < ids.length,
      `conversations on the killed shard: ${onVictim.length} of ${ids.length}`,
    );
    await until(
      async () => (await st.http.get(`/conversation/${onVictim[0]}`)).data.turnsCompleted >= 2,
      20_000,
      "two turns of a conversation on the victim's shard",
    );
    const killedAt = Date.now();
    await cluster.kill(victim);
    await until(
      async () => (await cluster.masterOf(shards.prefix(victimShard)).catch(() => victim)) !== victim,
      30_000,
      'a replica promoted',
    );
    for (const id of ids) await completedOnce(st, id, maxTurns);
    for (const id of ids) await checkCompleteTranscript(st.store, st.outputDir, id, maxTurns);
    await until(async () => Object.keys(await leftoverJobs(st.queues)).length === 0, 10_000, "every shard's queues to drain");
    const recoveredMs = Date.now() - killedAt;
    // After the failover, events of a new conversation on the killed shard still reach the subscriber.
    let fresh = '';
    for (let i = 0; i < 40 && !fresh; i++) {
      const res = await st.http.post('/conversation', { initialQuery: `After the failover ${i}?`, maxTurns: 1 });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      if (shards.shardOf(res.data.conversationId) === victimShard) fresh = res.data.conversationId;
      else await waitForConversation(st, res.data.conversationId, 30_000);
    }
    assert.ok(fresh, 'a new conversation on the killed shard');
    const got: string[] = [];
    hub.subscribe(fresh, (ev) => got.push(ev.type));
    await waitForConversation(st, fresh, 30_000);
    await until(() => got.includes('status'), 15_000, `events of ${fresh} after the failover (got ${got.join(', ')})`);
    await hub.close();
    await cluster.restart(victim);
    await until(async () => ((await cluster.admin(victim).call('ROLE')) as string[])[0] === 'slave', 20_000, 'the old master a replica');
    await cluster.waitHealthy();
    console.log(
      `      sharded failover: shard ${victimShard} (${onVictim.length} of ${ids.length} conversations) lost its master; all completed ${recoveredMs} ms after the kill`,
    );
  });
});
