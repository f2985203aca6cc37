/**
 * The shard prefixes of QUEUE_PREFIX and the shard of an id (shared/redis-shards.ts): one shard is
 * today's prefix byte for byte, so every key and queue name built from it is unchanged; N shards
 * suffix the hash tag; a prefix without a tag is refused naming QUEUE_PREFIX; ids spread evenly.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { QUEUE_NAMES } from '../../../queue/job-types';
import { loadConfig } from '../../../shared/config';
import type { Queue } from 'bullmq';
import { hashTagOf, ShardSet, shardOf, shardPrefixes } from '../../../shared/redis-shards';
import { isLimited } from '../../../shared/caller';
import { shardGroup } from '../../../producer/board/bull-board';
import { shareOf } from '../../../workers/worker-host';
import { conversationBudgetKey, runBudgetKey } from '../../../store/budget-store';
import { callerKey, callerLatestKey } from '../../../store/caller-store';
import { judgeKey } from '../../../store/judge-store';
import { runKeys, runsIndexKey } from '../../../store/run-keys';

describe('Redis shards: the prefixes of QUEUE_PREFIX and the shard of an id', () => {
  it('one shard is the default prefix byte for byte: the key names and queue names stay what they are today', () => {
    const [p] = shardPrefixes(loadConfig({}).queuePrefix, 1);
    assert.deepEqual(shardPrefixes('{llmconv}', 1), ['{llmconv}']);
    const id = '0b6c1c8e-2f43-4d2a-9d7e-5a1f0e8c3b21';
    assert.deepEqual(
      {
        run: runKeys(p!, 'r1'),
        runs: runsIndexKey(p!),
        judge: judgeKey(p!, id),
        budget: [conversationBudgetKey(p!, id), runBudgetKey(p!, 'r1')],
        caller: [callerKey(p!, 'k'), callerLatestKey(p!, 'k')],
        queues: Object.values(QUEUE_NAMES),
      },
      {
        run: {
          run: '{llmconv}:run:r1',
          conversations: '{llmconv}:run:r1:convs',
          backlog: '{llmconv}:run:r1:backlog',
          rejected: '{llmconv}:run:r1:rejected',
        },
        runs: '{llmconv}:runs',
        judge: `{llmconv}:conv:{${id}}:judge`,
        budget: [`{llmconv}:conv:{${id}}:budget`, '{llmconv}:run:r1:budget'],
        caller: ['{llmconv}:caller:k', '{llmconv}:latest:k'],
        queues: ['cloud', 'local', 'transcript', 'judge'],
      },
    );
    assert.equal(shardOf(id, 1), 0);
    // One shard accepts an untagged prefix as today (a single node needs no tag).
    assert.deepEqual(shardPrefixes('llmconv', 1), ['llmconv']);
  });

  it('N shards suffix the hash tag and keep what is outside the braces', () => {
    assert.deepEqual(shardPrefixes('{llmconv}', 3), ['{llmconv-0}', '{llmconv-1}', '{llmconv-2}']);
    assert.deepEqual(shardPrefixes('app{x}:', 2), ['app{x-0}:', 'app{x-1}:']);
    // Redis's own rule: the first `{` and the first `}` after it; `{{bar}}` hashes `{bar`.
    assert.deepEqual(shardPrefixes('foo{{bar}}', 2), ['foo{{bar-0}}', 'foo{{bar-1}}']);
    assert.deepEqual(hashTagOf('foo{{bar}}zap'), { start: 3, end: 8, tag: '{bar' });
    assert.equal(hashTagOf('foo{}{bar}'), undefined, 'an empty first tag: the whole key is hashed');
  });

  it('refuses a prefix without a tag for N > 1, and a shard count below 1, naming the setting', () => {
    const refuses = (f: () => unknown, key: string, re: RegExp) =>
      assert.throws(f, (err: Error & { key?: string }) => err.key === key && re.test(err.message));
    refuses(() => shardPrefixes('llmconv', 3), 'QUEUE_PREFIX', /no \{hash tag\}.*REDIS_SHARDS=3.*"\{llmconv\}"/);
    refuses(() => shardPrefixes('foo{}{bar}', 2), 'QUEUE_PREFIX', /no \{hash tag\}/);
    refuses(() => shardPrefixes('{llmconv}', 0), 'REDIS_SHARDS', /at least 1/);
    refuses(() => shardOf('x', 1.5), 'REDIS_SHARDS', /whole number/);
  });

  it('the shard of an id is stable (SHA-256, not a process-local hash) and ids spread evenly', () => {
    // Pinned once: a change of hash would move every live conversation to another shard.
    assert.deepEqual(
      ['conversation-1', '0b6c1c8e-2f43-4d2a-9d7e-5a1f0e8c3b21', 'run-a'].map((id) => [shardOf(id, 3), shardOf(id, 7), shardOf(id, 16)]),
      [
        [2, 4, 0],
        [0, 4, 14],
        [0, 2, 3],
      ],
    );
    const counts = [0, 0, 0];
    const n = 30_000;
    for (let i = 0; i < n; i++) counts[shardOf(randomUUID(), 3)]! += 1;
    for (const c of counts) assert.ok(Math.abs(c / n - 1 / 3) < 0.02, `shares ${counts.map((x) => (x / n).toFixed(3))}`);
  });

  it("a ShardSet of one is QUEUE_PREFIX for every id; of three, each id its shard's prefix and the global tag apart", () => {
    const one = ShardSet.of('{llmconv}');
    assert.equal(one.count, 1);
    assert.equal(one.at(randomUUID()), '{llmconv}');
    assert.equal(
      one.newId(0, (a) => `id-${a}`),
      'id-0',
      'the first draw, whatever its hash',
    );
    const three = new ShardSet('{llmconv}', 3);
    assert.equal(three.global, '{llmconv}');
    assert.deepEqual(three.prefixes, ['{llmconv-0}', '{llmconv-1}', '{llmconv-2}']);
    assert.equal(three.at('conversation-1'), '{llmconv-2}');
    assert.throws(() => three.prefix(3), RangeError);
  });

  it('newId draws until the id lands on the shard asked for, the first draw first', () => {
    const three = new ShardSet('{llmconv}', 3);
    for (let shard = 0; shard < 3; shard++) {
      const tried: number[] = [];
      const id = three.newId(shard, (a) => {
        tried.push(a);
        return `seed-x-${a}`;
      });
      assert.equal(three.shardOf(id), shard);
      assert.deepEqual(
        tried,
        tried.map((_, i) => i),
        'attempts 0, 1, 2, … in order',
      );
      assert.equal(id, `seed-x-${tried.at(-1)}`);
    }
    assert.throws(() => three.newId(1, () => 'conversation-1'), /no id on shard 1/);
  });

  it("a role's concurrency is split over the shards, the remainder first, at least 1 each", () => {
    assert.deepEqual(
      [0, 1, 2].map((k) => shareOf(8, k, 3)),
      [3, 3, 2],
    );
    assert.deepEqual(
      [0, 1, 2].map((k) => shareOf(1, k, 3)),
      [1, 1, 1],
    );
    assert.equal(shareOf(4, 0, 1), 4);
  });

  it('the board groups queues by shard only when there are several', () => {
    const q = (prefix: string, name: string) => ({ name, opts: { prefix } }) as unknown as Queue;
    const one = [q('{p}', 'cloud'), q('{p}', 'local')];
    assert.deepEqual(shardGroup(one[0]!, one), {});
    const many = [q('{p-0}', 'cloud'), q('{p-1}', 'cloud'), q('{p-2}', 'cloud')];
    assert.deepEqual(shardGroup(many[2]!, many), { prefix: 'shard-2.', delimiter: '.' });
  });

  it('a key with maxActive or a budget is limited (its work keeps to its shard); the owner-less admin never', () => {
    assert.equal(isLimited({ id: 'a', name: 'a', admin: false, maxActive: 2 }), true);
    assert.equal(isLimited({ id: 'a', name: 'a', admin: false, budget: { usd: 1 } }), true);
    assert.equal(isLimited({ id: 'a', name: 'a', admin: true }), false);
    assert.equal(isLimited({ name: 'admin', admin: true, maxActive: 1 }), false);
  });
});
