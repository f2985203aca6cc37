import assert from 'node:assert/strict';
import { ShardSet } from '../../../shared/redis-shards';
import { normaliseSeedText, ownedRunConversationId, RUN_ID, runConversationId, seedHash } from '../../../runs/seed-identity';

describe('seed identity', () => {
  it('whitespace and Unicode composition do not make a seed new', () => {
    assert.equal(normaliseSeedText('  What\tis   e\u0301? \n'), 'What is \u00e9?');
    assert.equal(seedHash({ initialQuery: 'What  is X?' }), seedHash({ initialQuery: ' What is X? ' }));
  });

  it('settings, their key order aside, and the seed id are part of the identity; meta is not given to it', () => {
    const a = seedHash({ initialQuery: 'q', maxTurns: 2, templates: { followUp: 'a {{answer}}', nextQuery: 'b {{followUp}}' } });
    const b = seedHash({ templates: { nextQuery: 'b {{followUp}}', followUp: 'a {{answer}}' }, maxTurns: 2, initialQuery: 'q' });
    assert.equal(a, b);
    assert.notEqual(seedHash({ initialQuery: 'q', maxTurns: 2 }), seedHash({ initialQuery: 'q', maxTurns: 3 }));
    assert.notEqual(seedHash({ initialQuery: 'q' }, 's1'), seedHash({ initialQuery: 'q' }, 's2'));
    assert.match(a, /^[0-9a-f]{32}$/);
  });

  it('the conversation id is UUID-shaped, per run, and never holds ":" or only digits', () => {
    const h = seedHash({ initialQuery: 'q' });
    const id = runConversationId('run-1', h);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(runConversationId('run-1', h), id);
    assert.notEqual(runConversationId('run-2', h), id);
  });

  it('run ids are short, URL- and key-safe and not all digits', () => {
    for (const ok of ['a', 'run-1', 'R_2', 'x'.repeat(64)]) assert.ok(RUN_ID.test(ok), ok);
    for (const bad of ['', '123', 'a:b', 'a b', 'x'.repeat(65), '../x']) assert.ok(!RUN_ID.test(bad), bad);
  });

  describe('under REDIS_SHARDS', () => {
    const secret = Buffer.alloc(32, 7);
    const hashes = Array.from({ length: 60 }, (_, i) => seedHash({ initialQuery: `q ${i}` }));
    const runs = ['run-1', 'alice.nightly', 'b8f0c7d2-2f0e-4c1e-9d7a-5b3f8e1a0c44'];

    it('one shard: the ids are the ones derived without shards, byte for byte', () => {
      const one = new ShardSet('{llmconv}', 1);
      for (const run of runs)
        for (const h of hashes) {
          assert.equal(runConversationId(run, h, one), runConversationId(run, h));
          assert.equal(ownedRunConversationId(secret, 'alice', run, h, one), ownedRunConversationId(secret, 'alice', run, h));
        }
    });

    it("3 shards: every conversation id is on its run's shard, deterministic, distinct, UUID-shaped; one already there keeps its id", () => {
      const three = new ShardSet('{llmconv}', 3);
      let kept = 0;
      let moved = 0;
      for (const run of runs) {
        const ids = new Set<string>();
        for (const h of hashes) {
          for (const [id, plain] of [
            [runConversationId(run, h, three), runConversationId(run, h)],
            [ownedRunConversationId(secret, 'alice', run, h, three), ownedRunConversationId(secret, 'alice', run, h)],
          ] as const) {
            assert.equal(three.shardOf(id), three.shardOf(run), `${id} of ${run}`);
            assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            if (three.shardOf(plain) === three.shardOf(run)) {
              assert.equal(id, plain, 'attempt 0 is the id from before shards');
              kept++;
            } else moved++;
            ids.add(id);
          }
          assert.equal(runConversationId(run, h, three), runConversationId(run, h, three), 'deterministic');
        }
        assert.equal(ids.size, hashes.length * 2, `distinct ids in ${run}`);
      }
      assert.ok(kept > 0 && moved > 0, `kept ${kept}, moved ${moved}: both cases were met`);
    });
  });
});
