import assert from 'node:assert/strict';
import { measureDedup } from '../../../bench/dedup';

describe('bench: near-duplicate control (dedup phase; counts, no timing)', () => {
  it('finds at least 9 in 10 planted near-duplicates and flags no other conversation', () => {
    const r = measureDedup({ quick: true, progress: () => {} });
    assert.equal(r.conversations, 10_000);
    assert.ok(r.planted > 900);
    assert.ok(r.recall >= 0.9, `recall ${r.recall}`);
    assert.equal(r.falsePositives, 0);
    assert.ok(r.wordsPerConversation > 300);
  });
});
