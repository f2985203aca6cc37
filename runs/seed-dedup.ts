/**
 * Near-duplicate seeds across a run's uploads (`dedup=true`): an upload's index (shared/minhash.ts)
 * starts with the signatures of the seeds earlier `dedup=true` uploads to the run kept (stored by
 * the run store, store/run-store.ts `seedSignatures`), so a seed near an earlier upload's is
 * rejected as one near an earlier line of its own upload is; the seeds this upload adds are
 * appended for the next (a seed a cap refused is not). A seed of the same hash as one already kept (the same seed again) is
 * not a near-duplicate: the backlog counts it as a duplicate.
 *
 * Stored as fixed-size records, {@link SEED_RECORD_BYTES} each: the seed hash's 16 bytes (its 32
 * hex digits, runs/seed-identity.ts) then the signature's 64 little-endian uint32. A run holds at
 * most RUN_MAX_SEEDS seeds, so at most RUN_MAX_SEEDS × 272 bytes of records (27 MB at the default
 * 100,000), read whole at the start of a `dedup=true` upload and held by it as the index of one
 * upload of that many seeds would be.
 */
import { HASHES, NearDuplicateIndex, type NearDuplicate, type Signature, signatureBytes } from '../shared/minhash';

const HASH_BYTES = 16;
export const SEED_RECORD_BYTES = HASH_BYTES + HASHES * 4;

/** What a near-duplicate is of: a line of this upload, or a seed (its hash) an earlier upload kept. */
export type SeedRef = { line: number } | { earlier: string };

export const describeSeedRef = (ref: SeedRef): string =>
  'line' in ref ? `line ${ref.line}` : `seed ${ref.earlier} of an earlier upload to this run`;

export class SeedDedup {
  private readonly index: NearDuplicateIndex<SeedRef>;
  private readonly kept = new Set<string>();

  /** `earlier`: the run's stored records (null: none). */
  constructor(threshold: number, earlier: Buffer | null) {
    this.index = new NearDuplicateIndex<SeedRef>(threshold);
    if (!earlier) return;
    for (let at = 0; at + SEED_RECORD_BYTES <= earlier.length; at += SEED_RECORD_BYTES) {
      const hash = earlier.toString('hex', at, at + HASH_BYTES);
      const sig = new Uint32Array(HASHES);
      for (let i = 0; i < HASHES; i++) sig[i] = earlier.readUInt32LE(at + HASH_BYTES + i * 4);
      if (this.kept.has(hash)) continue;
      this.kept.add(hash);
      this.index.add({ earlier: hash }, sig);
    }
  }

  /** Seeds the index holds (earlier uploads' and this one's kept). */
  get size(): number {
    return this.index.size;
  }

  /**
   * Checks seed `hash` of `line`: the earlier seed it near-duplicates (`dup`), or, when it is
   * kept, its `record` for the store (stored once the seed is accepted). The same hash as a kept
   * seed is never a near-duplicate and makes no record.
   */
  check(line: number, hash: string, sig: Signature): { dup?: NearDuplicate<SeedRef>; record?: Buffer } {
    if (this.kept.has(hash)) return {};
    const dup = this.index.check({ line }, sig);
    if (dup) return { dup };
    this.kept.add(hash);
    return { record: Buffer.concat([Buffer.from(hash, 'hex'), signatureBytes(sig)]) };
  }
}
