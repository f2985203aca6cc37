/**
 * REDIS_SHARDS=3 on a real 3 masters + 3 replicas cluster (issue 26, part 4): conversations, their
 * forks and branches, Idempotency-Key replays and an API key's work each keep to one shard (no
 * CROSSSLOT: the Cluster client refuses a script whose keys span slots), the shards' keys sit on
 * all three masters, every conversation completes with each turn once, the lists read every shard,
 * a key's maxActive stays exact, budgets are booked, and the board shows the queues grouped by shard.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ShardSet, shardPrefixes } from '../../../shared/redis-shards';
import { CallerStore } from '../../../store/caller-store';
import { EventHub } from '../../../coordination/event-hub';
import { duplicateConnection } from '../../../shared/redis-connection';
import { uniquePrefix } from '../../helpers/redis';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';
import { startTestStack, waitForConversation, until, type TestStack } from '../../helpers/test-stack';

const KEYS = { alice: 'sk-alice-shards-1', carol: 'sk-carol-shards-2', ops: 'sk-ops-shards-3' };
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const as = (who: keyof typeof KEYS) => ({ headers: { 'x-api-key': KEYS[who] } });

describe('Redis Cluster: REDIS_SHARDS=3 spreads the work over 3 masters', function () {
  this.timeout(120_000);
  let cluster: RedisCluster;
  let stack: TestStack;
  let dir: string;
  let prefix: string;
  let shards: ShardSet;
  /** Master port of each shard. */
  let masterOfShard: number[];

  before(async () => {
    cluster = await startRedisCluster();
    // A prefix whose three shard tags hash to three different masters (random tags may share one).
    for (;;) {
      prefix = uniquePrefix('sh');
      masterOfShard = await Promise.all(shardPrefixes(prefix, 3).map((p) => cluster.masterOf(p)));
      if (new Set(masterOfShard).size === 3) break;
    }
    shards = new ShardSet(prefix, 3);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-shards-'));
    const file = path.join(dir, 'keys.yaml');
    fs.writeFileSync(
      file,
      stringify({
        keys: [
          { id: 'alice', sha256: sha(KEYS.alice) },
          { id: 'carol', sha256: sha(KEYS.carol), maxActive: 1 },
          { id: 'ops', sha256: sha(KEYS.ops), role: 'admin' },
        ],
      }),
    );
    stack = await startTestStack({
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: cluster.addresses.join(','),
      QUEUE_PREFIX: prefix,
      REDIS_SHARDS: '3',
      API_KEYS_FILE: file,
    });
    // The waits read as the admin key.
    stack.http.defaults.headers.common['x-api-key'] = KEYS.ops;
  });
  after(async () => {
    await stack?.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The master holding conversation `id`'s record, or undefined when no master has it. */
  const masterHolding = async (id: string): Promise<number | undefined> => {
    const port = masterOfShard[shards.shardOf(id)]!;
    return (await cluster.admin(port).exists(`${shards.at(id)}:conv:{${id}}`)) === 1 ? port : undefined;
  };

  it('conversations land on every shard and master, complete with each turn once, and GET /conversations lists them all', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      // Half with a budget: its reserve and settle scripts run on the conversation's shard too.
      const body = { initialQuery: `Sharded question ${i}?`, maxTurns: 2, ...(i % 2 ? { budget: { tokens: 100_000 } } : {}) };
      const res = await stack.http.post('/conversation', body, as('ops'));
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    const perShard = [0, 0, 0];
    for (const id of ids) {
      const view = await waitForConversation(stack, id, 30_000);
      assert.equal(view.status, 'completed', JSON.stringify(view).slice(0, 300));
      assert.equal(view.turnsCompleted, 2);
      assert.equal(view.turns.length, 2, 'each turn recorded once');
      if (view.budget) assert.ok(view.budget.spentTokens > 0, `the budget of ${id} was booked`);
      const k = shards.shardOf(id);
      perShard[k]!++;
      assert.equal(await masterHolding(id), masterOfShard[k], `conversation ${id} on shard ${k}'s master`);
      // Nothing of it under the global prefix.
      assert.equal(await stack.store.redis.exists(`${prefix}:conv:{${id}}`), 0);
    }
    assert.ok(
      perShard.every((n) => n > 0),
      `every shard holds conversations: ${perShard.join('/')}`,
    );
    // Each shard's queues ran its conversations' jobs.
    for (const s of stack.queues.shards) {
      const done = await s.transcript.getJobCounts('completed');
      assert.equal(done.completed, perShard[s.index], `shard ${s.index}'s transcript queue`);
    }
    const listed = (await stack.http.get('/conversations?limit=200', as('ops'))).data.conversations as {
      conversationId: string;
      createdAt: string;
    }[];
    for (const id of ids)
      assert.ok(
        listed.some((c) => c.conversationId === id),
        `listed ${id}`,
      );
    const times = listed.map((c) => Date.parse(c.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first over every shard',
    );
  });

  it("a fork and a conversation's branches stay on their parent's shard; an Idempotency-Key replays across requests", async () => {
    const parent = await stack.http.post('/conversation', { initialQuery: 'Parent?', maxTurns: 3, branches: 2, branchAt: 2 }, as('ops'));
    assert.equal(parent.status, 202, JSON.stringify(parent.data));
    const parentId: string = parent.data.conversationId;
    await waitForConversation(stack, parentId, 30_000);
    let forks: { id: string }[] = [];
    await until(async () => (forks = await stack.store.forks(parentId)).length === 2, 20_000, 'the two branches');
    const fork = await stack.http.post(`/conversation/${parentId}/fork`, { atTurn: 2 }, as('ops'));
    assert.equal(fork.status, 202, JSON.stringify(fork.data));
    for (const id of [...forks.map((f) => f.id), fork.data.conversationId]) {
      assert.equal(shards.shardOf(id), shards.shardOf(parentId), `fork ${id} on its parent's shard`);
      assert.equal((await waitForConversation(stack, id, 30_000)).status, 'completed');
    }
    const headers = { ...as('ops').headers, 'idempotency-key': 'shards-idem-1' };
    const first = await stack.http.post('/conversation', { initialQuery: 'Once?', maxTurns: 1 }, { headers });
    const again = await stack.http.post('/conversation', { initialQuery: 'Once?', maxTurns: 1 }, { headers });
    assert.equal(first.status, 202, JSON.stringify(first.data));
    assert.equal(again.data.conversationId, first.data.conversationId, 'the replay answers the first conversation');
    const other = await stack.http.post('/conversation', { initialQuery: 'Not the same', maxTurns: 1 }, { headers });
    assert.equal(other.status, 422, 'a different body under the key');
  });

  it('an API key without limits spreads, its list and usage read over every shard; one with a maxActive keeps to its shard, the limit exact', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await stack.http.post('/conversation', { initialQuery: `Alice ${i}`, maxTurns: 1 }, as('alice'));
      assert.equal(res.status, 202, JSON.stringify(res.data));
      mine.push(res.data.conversationId);
    }
    for (const id of mine) await waitForConversation(stack, id, 30_000);
    // Alice has no limit: her work spreads, and her list and usage read every shard.
    const listed = (await stack.http.get('/conversations?limit=50', as('alice'))).data.conversations.map(
      (c: { conversationId: string }) => c.conversationId,
    );
    assert.deepEqual([...listed].sort(), [...mine].sort());
    const usage = await new CallerStore(stack.store.redis, shards).usage('alice');
    assert.equal(usage.conversations, 4);
    assert.equal(usage.active, 0);
    stack.ollama!.faults.set({ latencyMs: 1500 });
    try {
      const first = await stack.http.post('/conversation', { initialQuery: 'Slow', maxTurns: 1 }, as('carol'));
      assert.equal(first.status, 202);
      // Carol has a maxActive: her work stays on her shard, where the limit is checked.
      assert.equal(shards.shardOf(first.data.conversationId), shards.shardOf('carol'));
      const second = await stack.http.post('/conversation', { initialQuery: 'Too many', maxTurns: 1 }, as('carol'));
      assert.equal(second.status, 429, JSON.stringify(second.data));
      assert.equal(second.data.error.code, 'caller_max_active');
      await waitForConversation(stack, first.data.conversationId, 30_000);
    } finally {
      stack.ollama!.faults.reset();
    }
    const third = await stack.http.post('/conversation', { initialQuery: 'Room again', maxTurns: 1 }, as('carol'));
    assert.equal(third.status, 202, JSON.stringify(third.data));
  });

  it('the board lists each role once per shard, grouped by shard', async () => {
    const res = await stack.http.get('/admin/queues/api/queues', {
      headers: { 'x-api-key': '' },
      auth: { username: 'ops', password: KEYS.ops },
    });
    assert.equal(res.status, 200, String(res.data).slice(0, 200));
    const names = (res.data.queues as { name: string; delimiter: string }[]).map((q) => q.name).sort();
    const expected = [0, 1, 2].flatMap((k) => ['cloud', 'local', 'transcript', 'judge'].map((r) => `shard-${k}.${r}`)).sort();
    assert.deepEqual(names, expected);
    assert.ok((res.data.queues as { delimiter: string }[]).every((q) => q.delimiter === '.'));
  });

  it("events go out on each shard's channel (SPUBLISH), reach a sharded subscriber, and are not broadcast on the global channel", async () => {
    assert.equal(stack.store.shardedEvents, true);
    assert.deepEqual(
      stack.store.eventsChannels,
      shardPrefixes(prefix, 3).map((p) => `${p}:events`),
    );
    const hub = new EventHub(
      duplicateConnection(stack.store.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true }, { shardedSubscribers: true }),
      stack.store.eventsChannels,
      true,
    );
    const plain = duplicateConnection(stack.store.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    let broadcast = 0;
    plain.on('message', () => broadcast++);
    await plain.subscribe(`${prefix}:events`);
    await hub.start();
    try {
      const seen = new Map<string, string[]>();
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) {
        const res = await stack.http.post('/conversation', { initialQuery: `Evented ${i}?`, maxTurns: 2 }, as('ops'));
        assert.equal(res.status, 202, JSON.stringify(res.data));
        const id: string = res.data.conversationId;
        ids.push(id);
        seen.set(id, []);
        hub.subscribe(id, (ev) => seen.get(id)!.push(ev.type === 'status' ? `status:${ev.status}` : `${ev.type}:${ev.turn}`));
      }
      for (const id of ids) await waitForConversation(stack, id, 30_000);
      await until(() => ids.every((id) => seen.get(id)!.includes('status:completed')), 10_000, "every conversation's end event");
      for (const id of ids) {
        const got = seen.get(id)!;
        for (const step of ['cloud:2', 'local:2']) assert.ok(got.includes(step), `${id} (shard ${shards.shardOf(id)}): ${got.join(', ')}`);
      }
      assert.ok(new Set(ids.map((id) => shards.shardOf(id))).size > 1, 'events from more than one shard');
      assert.equal(broadcast, 0, 'nothing on the global channel');
    } finally {
      await hub.close();
      plain.disconnect();
    }
  });
});
