import assert from 'node:assert/strict';
import {
  BANDS,
  bandKeys,
  HASHES,
  NearDuplicateIndex,
  signature,
  signatureBytes,
  signatureFromBytes,
  similarity,
} from '../../../shared/minhash';

/** The exact Jaccard similarity of two texts' word 3-shingles, to check the estimate against. */
function jaccard(a: string, b: string): number {
  const sh = (t: string) => {
    const w = t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const out = new Set<string>();
    for (let i = 0; i + 3 <= w.length; i++) out.add(w.slice(i, i + 3).join(' '));
    return out;
  };
  const x = sh(a);
  const y = sh(b);
  const inter = [...x].filter((s) => y.has(s)).length;
  return inter / (x.size + y.size - inter);
}

describe('MinHash near-duplicates (shared/minhash.ts)', () => {
  let n = 7;
  const rnd = () => (n = (Math.imul(n, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const vocab = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`);
  const text = (len: number) => Array.from({ length: len }, () => vocab[Math.floor(rnd() * vocab.length)]).join(' ');

  it('identical texts (case and punctuation aside) are 1; unrelated texts near 0', () => {
    const t = text(200);
    assert.equal(similarity(signature(t), signature(t.toUpperCase().replaceAll(' ', ', '))), 1);
    assert.ok(similarity(signature(text(200)), signature(text(200))) < 0.1);
  });

  it('the estimate follows the exact Jaccard similarity of the shingles: unbiased, spread as 64 bins allow (100 pairs)', () => {
    const errors: number[] = [];
    for (let k = 0; k < 100; k++) {
      const a = text(300).split(' ');
      const b = [...a];
      const edits = Math.floor(rnd() * 40);
      for (let e = 0; e < edits; e++) b[Math.floor(rnd() * b.length)] = vocab[Math.floor(rnd() * vocab.length)]!;
      errors.push(similarity(signature(a.join(' ')), signature(b.join(' '))) - jaccard(a.join(' '), b.join(' ')));
    }
    const mean = errors.reduce((x, y) => x + y, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((x, y) => x + (y - mean) ** 2, 0) / errors.length);
    // One bin agrees with probability J: the estimate's standard error is at most sqrt(0.25 / 64) = 0.0625.
    assert.ok(Math.abs(mean) <= 0.02, `bias ${mean.toFixed(3)}`);
    assert.ok(sd <= 0.0625, `spread ${sd.toFixed(3)}`);
  });

  it('short texts: fewer shingles than bins still compare (densified), an empty text matches only itself', () => {
    assert.equal(similarity(signature('what is redis'), signature('What is Redis?')), 1);
    assert.ok(similarity(signature('what is redis'), signature('why is the sky blue')) < 0.5);
    assert.equal(similarity(signature(''), signature('')), 1);
    assert.equal(similarity(signature(''), signature('a b c')), 0);
  });

  it('signatures survive storage; the band keys are BANDS per signature, equal for equal signatures', () => {
    const sig = signature(text(50));
    assert.deepEqual(signatureFromBytes(signatureBytes(sig)), sig);
    assert.equal(signatureFromBytes(Buffer.alloc(3)), undefined);
    assert.equal(sig.length, HASHES);
    assert.equal(bandKeys(sig).length, BANDS);
    assert.deepEqual(bandKeys(signature('a b c d')), bandKeys(signature('A B C D')));
  });

  it('the index answers the earlier near-duplicate at or above its threshold, and keeps only items that are not', () => {
    const idx = new NearDuplicateIndex<string>(0.8);
    const base = text(100);
    assert.equal(idx.check('a', signature(base)), undefined);
    assert.equal(idx.check('b', signature(text(100))), undefined);
    const dup = idx.check('c', signature(`${base} and one more`));
    assert.equal(dup?.of, 'a');
    assert.ok(dup!.similarity >= 0.8);
    assert.equal(idx.size, 2);
    // A threshold of 1 flags only texts whose every bin agrees (copies, and texts a few shingles apart).
    const strict = new NearDuplicateIndex<string>(1);
    strict.check('a', signature(base));
    const edited = base.split(' ').map((w, i) => (i % 10 === 0 ? 'changed' : w));
    assert.equal(strict.check('c', signature(edited.join(' '))), undefined);
    assert.equal(strict.check('d', signature(base))?.of, 'a');
  });
});
