/**
 * Near-duplicate detection: MinHash signatures over word shingles, and an LSH index that finds
 * the earlier items whose signature agrees on a whole band, verified by the estimated Jaccard
 * similarity against a threshold (DEDUP_THRESHOLD). Pure and dependency-free: the seed intake
 * (runs/run-service.ts), the finished-conversation flag (runs/conversation-dedup.ts) and the
 * bench (`npm run bench -- --only=dedup`) use it.
 *
 * Text is lower-cased and split into words (letters and digits, Unicode-aware); each word is
 * hashed once (FNV-1a) and a shingle of {@link SHINGLE} words is the mix of its words' hashes; the
 * signature takes one hash per shingle (one-permutation hashing, {@link signature}), so a text of
 * n words costs O(n), not O(n × HASHES). A text shorter than a shingle is one shingle of all its words.
 */

/** Words per shingle. */
export const SHINGLE = 3;
/** Hash functions per signature. */
export const HASHES = 64;
/** LSH bands × rows = HASHES: 16 bands of 4 rows find pairs from about 0.5 similarity on. */
export const BANDS = 16;
const ROWS = HASHES / BANDS;

/** A MinHash signature: {@link HASHES} unsigned 32-bit minima. */
export type Signature = Uint32Array;

function fnv1a(text: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** True for a letter or digit (ASCII without the regex). */
function isWordChar(c: number, text: string, i: number): boolean {
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  return WORD_CHAR.test(text[i]!);
}

/** The word hashes of `text` (lower-cased): runs of letters and digits. */
function wordHashes(text: string): number[] {
  const lower = text.toLowerCase();
  const out: number[] = [];
  let start = -1;
  for (let i = 0; i <= lower.length; i++) {
    const word = i < lower.length && isWordChar(lower.charCodeAt(i), lower, i);
    if (word && start < 0) start = i;
    else if (!word && start >= 0) {
      out.push(fnv1a(lower, start, i));
      start = -1;
    }
  }
  return out;
}

/** murmur3's finaliser: spreads a 32-bit value. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const EMPTY = 0xffffffff;

/**
 * The MinHash signature of `text`'s word shingles, by one-permutation hashing: each shingle's hash
 * is computed once, its top 6 bits pick one of the {@link HASHES} bins and the bin keeps the least
 * of the rest; an empty bin (a text of fewer shingles than bins) then takes the value of the first
 * non-empty bin of its own fixed probe sequence (optimal densification, Shrivastava 2017), so two
 * texts fill the same empty bins the same way. An empty text has every bin at 0xffffffff.
 */
export function signature(text: string): Signature {
  const words = wordHashes(text);
  const sig = new Uint32Array(HASHES).fill(EMPTY);
  if (words.length === 0) return sig;
  const shingles = Math.max(1, words.length - SHINGLE + 1);
  let filled = 0;
  for (let s = 0; s < shingles; s++) {
    // The shingle's words, each multiplied by its position's odd constant, then mixed once.
    let h = Math.imul(words[s]!, 0x9e3779b1);
    if (s + 1 < words.length) h ^= Math.imul(words[s + 1]!, 0x85ebca77);
    if (s + 2 < words.length) h ^= Math.imul(words[s + 2]!, 0xc2b2ae3d);
    h = mix(h);
    const bin = h >>> 26;
    const v = h & 0x3ffffff;
    if (sig[bin] === EMPTY) filled++;
    if (v < sig[bin]!) sig[bin] = v;
  }
  if (filled < HASHES) {
    const from = Uint32Array.from(sig);
    for (let i = 0; i < HASHES; i++) {
      if (from[i] !== EMPTY) continue;
      for (let attempt = 0; ; attempt++) {
        const j = mix(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(attempt + 1, 0x85ebca6b)) >>> 26;
        if (from[j] !== EMPTY) {
          sig[i] = from[j]!;
          break;
        }
      }
    }
  }
  return sig;
}

/** The estimated Jaccard similarity of two signatures: the share of equal minima. */
export function similarity(a: Signature, b: Signature): number {
  let same = 0;
  for (let i = 0; i < HASHES; i++) if (a[i] === b[i]) same++;
  return same / HASHES;
}

/** The LSH band hashes of a signature, one per band (band b's hash covers its rows and b). */
export function bandHashes(sig: Signature): Uint32Array {
  const out = new Uint32Array(BANDS);
  for (let b = 0; b < BANDS; b++) {
    let h = b;
    for (let r = 0; r < ROWS; r++) h = mix(h ^ sig[b * ROWS + r]!);
    out[b] = h;
  }
  return out;
}

/** The band hashes as storage field names: `<band>:<hash>`, base 36. */
export const bandKeys = (sig: Signature): string[] => [...bandHashes(sig)].map((h, b) => `${b}:${h.toString(36)}`);

/** A signature as bytes (storage) and back. */
export const signatureBytes = (sig: Signature): Buffer => Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength);
export function signatureFromBytes(buf: Buffer): Signature | undefined {
  if (buf.length !== HASHES * 4) return undefined;
  const out = new Uint32Array(HASHES);
  for (let i = 0; i < HASHES; i++) out[i] = buf.readUInt32LE(i * 4);
  return out;
}

/** An earlier item a new one near-duplicates. */
export interface NearDuplicate<K> {
  of: K;
  similarity: number;
}

/**
 * An in-memory LSH index of signatures (a run's seeds during an upload; the bench): {@link check} answers the
 * most similar earlier item at or above the threshold, and adds the new one unless it is a
 * near-duplicate (so every kept item is compared with, not every rejected one). Memory: the
 * signatures and BANDS map entries per kept item.
 */
export class NearDuplicateIndex<K> {
  private readonly bands: Map<number, number[]>[] = Array.from({ length: BANDS }, () => new Map());
  private readonly sigs: Signature[] = [];
  private readonly keys: K[] = [];

  constructor(readonly threshold: number) {}

  get size(): number {
    return this.keys.length;
  }

  check(key: K, sig: Signature): NearDuplicate<K> | undefined {
    const bandKeysOf = bandHashes(sig);
    let best: NearDuplicate<K> | undefined;
    let seen: Set<number> | undefined;
    for (let b = 0; b < BANDS; b++) {
      const hits = this.bands[b]!.get(bandKeysOf[b]!);
      if (!hits) continue;
      for (const i of hits) {
        seen ??= new Set();
        if (seen.has(i)) continue;
        seen.add(i);
        const s = similarity(sig, this.sigs[i]!);
        if (s >= this.threshold && (!best || s > best.similarity)) best = { of: this.keys[i]!, similarity: s };
      }
    }
    if (best) return best;
    this.add(key, sig, bandKeysOf);
    return undefined;
  }

  /** Adds an item without checking it (one already kept, e.g. a seed of an earlier upload). */
  add(key: K, sig: Signature, bandKeysOf: Uint32Array = bandHashes(sig)): void {
    const at = this.keys.length;
    this.keys.push(key);
    this.sigs.push(sig);
    for (let b = 0; b < BANDS; b++) {
      const m = this.bands[b]!;
      const list = m.get(bandKeysOf[b]!);
      if (list) list.push(at);
      else m.set(bandKeysOf[b]!, [at]);
    }
  }
}
