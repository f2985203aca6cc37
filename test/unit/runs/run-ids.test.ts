import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ShardSet } from '../../../shared/redis-shards';
import { OWNERLESS_ADMIN, type Caller } from '../../../shared/caller';
import { newRunId, publicRunId, runIdCandidates, storedRunId } from '../../../runs/run-ids';

// alice has a limit (her work stays on her shard), bob has none (his spreads); ops is an admin.
const alice: Caller = { id: 'alice', name: 'Alice', admin: false, maxActive: 5 };
const bob: Caller = { id: 'bob', name: 'Bob', admin: false };
const ops: Caller = { id: 'ops', name: 'Ops', admin: true };
const names = Array.from({ length: 40 }, (_, i) => `nightly-${i}`);

describe('run ids under REDIS_SHARDS (runs/run-ids.ts)', () => {
  const one = new ShardSet('{llmconv}', 1);
  const three = new ShardSet('{llmconv}', 3);

  it('one shard: a name is stored as before, one candidate, and a new id is the random one', () => {
    for (const caller of [alice, bob, ops, OWNERLESS_ADMIN])
      for (const name of names) assert.deepEqual(runIdCandidates(one, caller, name), [storedRunId(caller, name)]);
    assert.deepEqual(runIdCandidates(one, ops, 'alice.nightly'), ['alice.nightly']);
    assert.deepEqual(
      newRunId(one, alice, () => 'u-1'),
      { id: 'alice.u-1', publicId: 'u-1' },
    );
    assert.deepEqual(
      newRunId(one, OWNERLESS_ADMIN, () => 'u-2'),
      { id: 'u-2', publicId: 'u-2' },
    );
  });

  it("3 shards: a limited key's named run is created on its shard, seen under its name; every shard has a candidate", () => {
    let suffixed = 0;
    for (const name of names) {
      const c = runIdCandidates(three, alice, name);
      assert.equal(c.length, 3);
      assert.equal(three.shardOf(c[0]!), three.shardOf('alice'), c[0]);
      assert.deepEqual(new Set(c.map((id) => three.shardOf(id))), new Set([0, 1, 2]));
      for (const id of c) {
        assert.ok(id === `alice.${name}` || id.startsWith(`alice.${name}~`), id);
        assert.equal(publicRunId(alice, id), name);
        assert.equal(publicRunId(ops, id), `alice.${name}`);
      }
      if (c[0] !== `alice.${name}`) suffixed++;
      assert.deepEqual(new Set(runIdCandidates(three, ops, `alice.${name}`)), new Set(c), "the admin's qualified name reads the same ids");
      assert.deepEqual(runIdCandidates(three, alice, name), c, 'deterministic');
    }
    assert.ok(suffixed > 0 && suffixed < names.length, `${suffixed} of ${names.length} needed a suffix`);
  });

  it("3 shards: an unlimited key's, an admin's and an owner-less named run are created under the name itself, on its own shard", () => {
    for (const name of names)
      for (const [caller, stored] of [
        [bob, `bob.${name}`],
        [ops, name],
        [OWNERLESS_ADMIN, name],
      ] as const) {
        const c = runIdCandidates(three, caller, name);
        assert.equal(c[0], stored);
        assert.equal(c.length, 3);
        assert.deepEqual(new Set(c.map((id) => three.shardOf(id))), new Set([0, 1, 2]));
        for (const id of c) assert.equal(publicRunId(caller, id), caller === bob ? name : stored);
      }
  });

  it("3 shards: a new run's id is on a limited key's shard, an unlimited key's spread; an id the caller cannot name is none", () => {
    const bobs = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const fresh = newRunId(three, alice, randomUUID)!;
      assert.equal(three.shardOf(fresh.id), three.shardOf('alice'));
      assert.equal(fresh.id, `alice.${fresh.publicId}`);
      const spread = newRunId(three, bob, randomUUID)!;
      assert.equal(spread.id, `bob.${spread.publicId}`);
      bobs.add(three.shardOf(spread.id));
    }
    assert.ok(bobs.size > 1, `an unlimited key's runs on ${bobs.size} shard(s)`);
    const nobody: Caller = { name: 'x', admin: false };
    assert.equal(newRunId(three, nobody, randomUUID), undefined);
    assert.deepEqual(runIdCandidates(three, alice, 'bob.nightly'), []);
    assert.deepEqual(runIdCandidates(three, alice, '123'), []);
  });
});
