/**
 * `dedup_conversations_per_sec` and `dedup_recall`: near-duplicate control in one process, no
 * Redis: N synthetic 3-turn conversations (20,000; 10,000 with --quick; a question of 15 words,
 * an answer of 80 and a follow-up of 20 per turn from a 5,000-word vocabulary, as the dialogue text
 * runs/conversation-dedup.ts compares), one in ten a copy of an earlier one with 2% of its words
 * replaced (about 6% of its shingles: a Jaccard similarity near 0.89). Rate = conversations ÷ seconds of MinHash signature + LSH index check (shared/minhash.ts)
 * at DEDUP_THRESHOLD's default; recall = planted near-duplicates found ÷ planted. The texts are
 * built before the clock starts.
 */
import { conversationDedupText } from '../runs/conversation-dedup';
import { NearDuplicateIndex, signature } from '../shared/minhash';
import type { BenchContext } from './bench-context';
import type { TurnRecord } from '../conversation/model';

export interface DedupResult {
  conversations: number;
  wordsPerConversation: number;
  seconds: number;
  conversationsPerSec: number;
  planted: number;
  found: number;
  falsePositives: number;
  recall: number;
}

export function measureDedup(ctx: Pick<BenchContext, 'quick' | 'progress'>, threshold = 0.8): DedupResult {
  const n = ctx.quick ? 10_000 : 20_000;
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const vocab = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
  // Zipf-like: low ranks far more often, as in prose.
  const word = () => vocab[Math.floor(vocab.length * rnd() ** 3)]!;
  const sentence = (len: number) => Array.from({ length: len }, word).join(' ');
  const texts: string[] = [];
  const planted = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (i > 10 && i % 10 === 0) {
      const w = texts[Math.floor(rnd() * i)]!.split(' ');
      for (let e = 0; e < w.length * 0.02; e++) w[Math.floor(rnd() * w.length)] = word();
      texts.push(w.join(' '));
      planted.add(i);
      continue;
    }
    const turns: TurnRecord[] = [1, 2, 3].map((turn) => ({
      turn,
      cloud: { question: sentence(15), answer: sentence(80) } as TurnRecord['cloud'],
      local: { followUp: sentence(20) } as TurnRecord['local'],
    }));
    texts.push(conversationDedupText(turns));
  }
  const words = texts.reduce((a, t) => a + t.split(' ').length, 0) / n;
  const index = new NearDuplicateIndex<number>(threshold);
  let found = 0;
  let falsePositives = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const dup = index.check(i, signature(texts[i]!));
    if (dup && planted.has(i)) found++;
    else if (dup) falsePositives++;
  }
  const seconds = (performance.now() - t0) / 1000;
  ctx.progress(`dedup: ${n} conversations in ${seconds.toFixed(2)} s, ${found}/${planted.size} planted found`);
  return {
    conversations: n,
    wordsPerConversation: Math.round(words),
    seconds,
    conversationsPerSec: n / seconds,
    planted: planted.size,
    found,
    falsePositives,
    recall: found / planted.size,
  };
}
