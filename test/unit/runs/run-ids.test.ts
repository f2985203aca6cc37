import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ShardSet } from '../../../shared/redis-shards';
import { OWNERLESS_ADMIN, type Caller } from '../../../shared/caller';
import { newRunId, publicRunId, runIdCandidates, storedRunId } from '../../../runs/run-ids';

const alice: Caller = { id: 'alice', name: 'Alice', admin: false };
const ops: Caller = { id: 'ops', name: 'Ops', admin: true };
const names = Array.from({ length: 40 }, (_, i) => `nightly-${i}`);

describe('run ids under REDIS_SHARDS (runs/run-ids.ts)', () => {
  const one = new ShardSet('{llmconv}', 1);
  const three = new ShardSet('{llmconv}', 3);

  it('one shard: a name is stored as before, one candidate, and a new id is the random one', () => {
    for (const caller of [alice, ops, OWNERLESS_ADMIN])
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

  it("3 shards: a caller's named run is on the caller's shard, seen under its name; the admin's qualified name finds the same id", () => {
    let suffixed = 0;
    for (const name of names) {
      const [id, ...rest] = runIdCandidates(three, alice, name);
      assert.deepEqual(rest, []);
      assert.equal(three.shardOf(id!), three.shardOf('alice'), id);
      assert.ok(id === `alice.${name}` || id!.startsWith(`alice.${name}~`), id);
      if (id !== `alice.${name}`) suffixed++;
      assert.equal(publicRunId(alice, id!), name);
      assert.equal(publicRunId(ops, id!), `alice.${name}`);
      assert.deepEqual(runIdCandidates(three, ops, `alice.${name}`), [id]);
      assert.deepEqual(runIdCandidates(three, alice, name), [id], 'deterministic');
    }
    assert.ok(suffixed > 0 && suffixed < names.length, `${suffixed} of ${names.length} needed a suffix`);
  });

  it("3 shards: an admin's unqualified name is created on its own shard and looked up on every shard; an owner-less one keeps its name first", () => {
    for (const name of names) {
      const c = runIdCandidates(three, ops, name);
      assert.equal(c.length, 3);
      assert.equal(three.shardOf(c[0]!), three.shardOf('ops'));
      assert.deepEqual(new Set(c.map((id) => three.shardOf(id))), new Set([0, 1, 2]));
      assert.ok(c.includes(name), 'the name itself, on its own shard, is among them');
      for (const id of c) assert.equal(publicRunId(ops, id), name);
      const owned = runIdCandidates(three, OWNERLESS_ADMIN, name);
      assert.equal(owned[0], name);
      assert.equal(owned.length, 3);
    }
  });

  it("3 shards: a new run's id is on its owner's shard; an id the caller cannot name is none", () => {
    for (let i = 0; i < 30; i++) {
      const fresh = newRunId(three, alice, randomUUID)!;
      assert.equal(three.shardOf(fresh.id), three.shardOf('alice'));
      assert.equal(fresh.id, `alice.${fresh.publicId}`);
      const admin = newRunId(three, ops, randomUUID)!;
      assert.equal(three.shardOf(admin.id), three.shardOf('ops'));
      assert.equal(admin.id, admin.publicId);
    }
    const nobody: Caller = { name: 'x', admin: false };
    assert.equal(newRunId(three, nobody, randomUUID), undefined);
    assert.deepEqual(runIdCandidates(three, alice, 'bob.nightly'), []);
    assert.deepEqual(runIdCandidates(three, alice, '123'), []);
  });
});
