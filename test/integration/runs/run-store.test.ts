import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ConversationStore } from '../../../store/conversation-store';
import { RunStore } from '../../../store/run-store';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import type { ConversationSettings } from '../../../conversation/model';
import { runConversationId, seedHash } from '../../../runs/seed-identity';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

describe('run store (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let runs: RunStore;
  let store: ConversationStore;

  beforeEach(async () => {
    redis = new Redis(testRedisUrl());
    prefix = uniquePrefix('run');
    runs = new RunStore(redis, prefix);
    store = new ConversationStore(redis, { prefix, retentionSeconds: 60 });
  });
  afterEach(async () => {
    await redis.quit();
  });

  const settings = (runId: string, q: string): ConversationSettings => ({
    initialQuery: q,
    outputFile: 'x.csv',
    maxTurns: 1,
    timeoutMinutes: 5,
    cloudModel: 'c',
    localModel: 'l',
    contextTurns: 3,
    templates: { ...DEFAULT_TEMPLATES },
    systemPrompts: {},
    run: { id: runId, seedHash: 'h' },
  });

  it('concurrent claims never admit more than maxActive; a terminal transition frees exactly one slot, once', async () => {
    await runs.create('r1', 'n', 5, 100);
    const seeds: [string, string][] = Array.from({ length: 100 }, (_, i) => [`id-${i}`, `{"r":{"initialQuery":"q${i}"},"h":"h"}`]);
    assert.deepEqual(await runs.addSeeds('r1', seeds), { accepted: 100, duplicates: 0, refused: 0 });
    const claims = await Promise.all(Array.from({ length: 10 }, () => runs.claim('r1', 50)));
    const claimed = claims.flat();
    assert.equal(claimed.length, 5);
    assert.deepEqual(claimed.map(([id]) => id).sort(), ['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    for (const [id] of claimed) await store.createIfAbsent(id, settings('r1', id));
    assert.equal(await store.finish('id-0', 'completed', 'max_turns'), true);
    assert.equal(await store.finish('id-0', 'failed', 'provider_error'), false, 'a second terminal transition is a no-op');
    const again = (await Promise.all(Array.from({ length: 5 }, () => runs.claim('r1', 50)))).flat();
    assert.deepEqual(
      again.map(([id]) => id),
      ['id-5'],
    );
    const s = (await runs.get('r1'))!;
    assert.equal(s.active, 5);
    assert.equal(s.admitted, 6);
    assert.deepEqual(s.byStatus, { completed: 1 });
    assert.equal(s.waiting, 94);
    // Seeds waiting or admitted are duplicates on resubmission.
    assert.deepEqual(await runs.addSeeds('r1', seeds.slice(0, 10)), { accepted: 0, duplicates: 10, refused: 0 });
  });

  // store/lua/run/fill.lua declares the owner's caller hash in KEYS: a store that does not know
  // the run's owner learns it from the script's answer and claims again (then remembers it).
  it("an owned run's claims stay within its owner's maxActive, whichever store claims (the owner's hash declared to fill.lua)", async () => {
    const evalshas = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    await redis.hset(`${prefix}:caller:k1`, 'maxActive', 3, 'active', 1);
    await runs.create('r2', 'n', 10, 10, 'k1');
    await runs.addSeeds(
      'r2',
      Array.from({ length: 6 }, (_, i): [string, string] => [`o-${i}`, '{}']),
    );
    const other = new RunStore(redis, prefix);
    let before = await evalshas();
    assert.equal((await other.claim('r2', 1)).length, 1);
    assert.equal((await evalshas()) - before, 2, 'the owner learned from the script: a second call');
    before = await evalshas();
    assert.equal((await other.claim('r2', 5)).length, 1, "the owner's third slot is the last free one");
    assert.equal((await evalshas()) - before, 1, 'then remembered');
    before = await evalshas();
    assert.deepEqual(await runs.claim('r2', 5), [], 'the creating store knows the owner');
    assert.equal((await evalshas()) - before, 1);
    assert.deepEqual(await redis.hmget(`${prefix}:caller:k1`, 'active', 'conversations'), ['3', '2']);
    assert.equal((await runs.get('r2'))!.active, 2);
  });

  it('createIfAbsent never overwrites a conversation that moved on', async () => {
    assert.equal(await store.createIfAbsent('c1', settings('r', 'q')), null);
    await store.markRunning('c1');
    assert.equal(await store.createIfAbsent('c1', settings('r', 'other')), 'running');
    assert.equal((await store.get('c1'))!.settings.initialQuery, 'q');
  });

  it('a waiting seed costs at most 300 bytes of Redis beyond its text', async () => {
    await runs.create('big', '', 1, 1);
    const text = 'What is the capital of France and why did it become the capital?';
    const N = 2000;
    const k = runs.keys('big');
    const before = await usage(redis, [k.backlog, k.seeds]);
    const batch: [string, string][] = [];
    for (let i = 0; i < N; i++) {
      batch.push([
        runConversationId('big', seedHash({ initialQuery: `${text} ${i}` })),
        JSON.stringify({ r: { initialQuery: `${text} ${i}`, maxTurns: 3 }, h: 'f'.repeat(32) }),
      ]);
    }
    await runs.addSeeds('big', batch);
    const per = ((await usage(redis, [k.backlog, k.seeds])) - before) / N;
    const overhead = per - (text.length + 5);
    console.log(`      bytes per waiting seed beyond its text: ${overhead.toFixed(0)}`);
    assert.ok(overhead <= 300, `bytes per waiting seed beyond its text: ${overhead.toFixed(0)}`);
  });
});

async function usage(redis: Redis, keys: string[]): Promise<number> {
  let n = 0;
  for (const k of keys) n += Number((await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')) ?? 0);
  return n;
}
