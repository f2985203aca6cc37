import assert from 'node:assert/strict';
import { SEED_RECORD_BYTES, SeedDedup, describeSeedRef } from '../../../runs/seed-dedup';
import { signature } from '../../../shared/minhash';

const text = 'How should a small team choose between a relational database and a document store';
const H1 = 'a'.repeat(32);
const H2 = 'b'.repeat(32);
const H3 = 'c'.repeat(32);

describe('seed near-duplicates across uploads (runs/seed-dedup.ts)', () => {
  it('a kept seed makes a 272-byte record; the next upload, started from the records, rejects a near-copy naming the earlier seed', () => {
    const first = new SeedDedup(0.7, null);
    const kept = first.check(1, H1, signature(text));
    assert.equal(kept.dup, undefined);
    assert.equal(kept.record!.length, SEED_RECORD_BYTES);
    assert.equal(SEED_RECORD_BYTES, 272);
    assert.equal(kept.record!.toString('hex', 0, 16), H1);
    // Within the upload: the near-copy names its line.
    assert.deepEqual(first.check(2, H2, signature(`${text} today`)).dup?.of, { line: 1 });

    const second = new SeedDedup(0.7, kept.record!);
    assert.equal(second.size, 1);
    const near = second.check(1, H2, signature(`${text} today`));
    assert.deepEqual(near.dup?.of, { earlier: H1 });
    assert.equal(near.record, undefined);
    assert.equal(describeSeedRef(near.dup!.of), `seed ${H1} of an earlier upload to this run`);
    // The same seed again (same hash) is no near-duplicate and makes no record: the backlog counts it.
    assert.deepEqual(second.check(2, H1, signature(text)), {});
    // Something else is kept, and recorded.
    const other = second.check(3, H3, signature('What is the tallest mountain on Earth and how was it measured'));
    assert.equal(other.dup, undefined);
    assert.equal(other.record!.length, SEED_RECORD_BYTES);
  });

  it('ignores a truncated trailing record and repeated hashes in the stored records', () => {
    const a = new SeedDedup(0.7, null).check(1, H1, signature(text)).record!;
    const d = new SeedDedup(0.7, Buffer.concat([a, a, a.subarray(0, 100)]));
    assert.equal(d.size, 1);
  });
});
