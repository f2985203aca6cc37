/**
 * REDIS_SENTINELS: the stack over ioredis's Sentinel client on a real primary + replica under three
 * sentinels (test/helpers/redis-sentinel.ts). Mid-run, kill -9 of the primary: the sentinels
 * promote the replica, the client asks them for the new master, and every conversation completes
 * with each turn once without a restart; the old primary comes back as a replica.
 */
import assert from 'node:assert/strict';
import { checkRedisReachable } from '../../../shared/startup-checks';
import { checkCompleteTranscript, leftoverJobs } from '../../faults/fixtures/transcript-check';
import { uniquePrefix } from '../../helpers/redis';
import { startSentinelGroup, type SentinelGroup } from '../../helpers/redis-sentinel';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('Redis Sentinel: REDIS_SENTINELS, kill -9 of the primary mid-run', function () {
  this.timeout(60_000);
  let group: SentinelGroup;
  let stack: TestStack | undefined;

  before(async () => {
    group = await startSentinelGroup();
  });
  after(async () => {
    await stack?.close();
    await group?.stop();
  });

  it('a wrong REDIS_SENTINEL_MASTER stops the start, naming the key', async () => {
    await assert.rejects(
      checkRedisReachable({ sentinels: group.sentinels, master: 'no-such-master' }),
      (err: Error & { key?: string }) => /knows no master named "no-such-master"/.test(err.message) && err.key === 'REDIS_SENTINEL_MASTER',
    );
  });

  it('every conversation completes with each turn once; the old primary rejoins as a replica', async () => {
    const prefix = uniquePrefix('sentinel');
    const st = await startTestStack(
      {
        REDIS_URL: undefined,
        REDIS_SENTINELS: group.sentinels.join(','),
        REDIS_SENTINEL_MASTER: group.name,
        QUEUE_PREFIX: prefix,
        // As in the cluster's failover test: a lease released just before the kill may be lost with the primary.
        OLLAMA_SLOT_LEASE_MS: '3000',
      },
      { emulatorLatencyMs: 40 },
    );
    stack = st;
    const maxTurns = 5;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await st.http.post('/conversation', { initialQuery: `Sentinel question ${i}?`, maxTurns });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    await until(async () => (await st.http.get(`/conversation/${ids[0]}`)).data.turnsCompleted >= 2, 20_000, 'two turns done');
    const victim = await group.masterPort();
    const killedAt = Date.now();
    await group.kill(victim);
    await until(async () => (await group.masterPort().catch(() => victim)) !== victim, 30_000, 'the sentinels to promote the replica');
    const promotedMs = Date.now() - killedAt;
    for (const id of ids) {
      const view = await waitForConversation(st, id, 45_000);
      assert.equal(view.status, 'completed', `${id}: ${JSON.stringify(view).slice(0, 300)}`);
      assert.deepEqual(
        view.turns.map((t: { turn: number }) => t.turn),
        Array.from({ length: maxTurns }, (_, k) => k + 1),
        `${id}: each turn once, in order`,
      );
    }
    const doneMs = Date.now() - killedAt;
    // Each conversation's transcript and record: every turn's two steps exactly once, none missing.
    for (const id of ids) await checkCompleteTranscript(st.store, st.outputDir, id, maxTurns);
    await until(async () => Object.keys(await leftoverJobs(st.queues)).length === 0, 10_000, 'queues to drain');
    await group.restart(victim);
    await until(async () => ((await group.admin(victim).call('ROLE')) as string[])[0] === 'slave', 20_000, 'the old primary a replica');
    const after = await st.http.post('/conversation', { initialQuery: 'After the rejoin?', maxTurns: 2 });
    assert.equal(after.status, 202, JSON.stringify(after.data));
    assert.equal((await waitForConversation(st, after.data.conversationId, 20_000)).status, 'completed');
    console.log(`      sentinel: replica promoted ${promotedMs} ms after kill -9; every conversation completed ${doneMs} ms after`);
  });
});
