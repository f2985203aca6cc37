/**
 * Where a Converse request gets its prompt-cache checkpoints (`cachePoint` blocks), within the
 * model's rules from the catalogue ({@link CacheRules}; the Bedrock user guide's prompt-caching
 * page, docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html, read 2026-12-03):
 *
 * - after the system prompt, when the model takes one there and it is long enough;
 * - after the history that was already the previous call's history (this call reads what that
 *   call wrote), and after the whole history (written now, read by the next call): the history is
 *   the stable part, the new prompt never is.
 *
 * "You can only create a cache checkpoint if your total prompt prefix meets the minimum number of
 * tokens": each checkpoint's whole prefix must reach the minimum (an older copy of the guide gave
 * the example of a first checkpoint after 1,024 tokens and a second after 2,048, i.e. placed as
 * early as allowed; requiring n × the minimum of the n-th broke the chain of reads from one turn
 * to the next, measured in bench/cache-cost.ts). Never more than `maxCheckpoints`. Token counts are
 * estimated low on purpose ({@link CACHE_CHARS_PER_TOKEN}), so a checkpoint is never placed below
 * the real minimum (Bedrock would ignore it); a long-enough prefix may go uncached.
 *
 * A checkpoint that no later call reads is a loss where writes cost more than input: the same
 * page (read 2026-12-04 in the search corpus's copies, its Japanese translation among them) says
 * tokens written to the cache may be billed above the uncached input rate on some models (the
 * catalogue: Claude at 1.25×). The caller says which history checkpoints can be read
 * ({@link HistoryCache}): on a conversation's last call nothing reads its whole history, and a
 * sliding window that drops its oldest turn changes the prefix of every call (issue 24: Haiku 4.5,
 * 10 turns, cost more with caching on than off, from a 4,097-token write on turn 10).
 */
import type { CacheRules } from '../shared/model-catalog';

/**
 * UTF-8 bytes per token of the low estimate: English BPE text is about 4 characters a token (the
 * rule of thumb bedrock-client.ts uses for reasoning), so 6 undercounts it, and the emulators
 * (a token per word) as well.
 */
export const CACHE_CHARS_PER_TOKEN = 6;

export const estimateTokensLow = (text: string): number => Math.floor(Buffer.byteLength(text, 'utf8') / CACHE_CHARS_PER_TOKEN);

export interface CachePlan {
  /** A checkpoint after the system prompt. */
  system: boolean;
  /** Indexes of the messages (history and prompt together, the prompt last) a checkpoint follows. */
  afterMessages: number[];
}

export const NO_CACHE: CachePlan = { system: false, afterMessages: [] };

/**
 * Which history checkpoints a call gets: `all` (default) after the previous call's history (read)
 * and after the whole history (written for the next call); `read` the first only (no later call
 * starts with this whole history: the conversation's last call); `none` neither (this history is
 * not the previous call's plus one exchange, and no later call's starts with it). The system
 * prompt's checkpoint is placed in every case: other conversations with the same prompt read it.
 */
export type HistoryCache = 'all' | 'read' | 'none';

/**
 * The checkpoints of one request. `system` is the system prompt as sent apart (undefined when
 * none, or when it went into the first user message); `messages` the message texts in order, the
 * new prompt last.
 */
export function planCachePoints(
  rules: CacheRules | undefined,
  system: string | undefined,
  messages: readonly string[],
  history: HistoryCache = 'all',
): CachePlan {
  if (!rules || rules.maxCheckpoints < 1) return NO_CACHE;
  const plan: CachePlan = { system: false, afterMessages: [] };
  let prefix = 0;
  let placed = 0;
  const fits = () => placed < rules.maxCheckpoints && prefix >= rules.minTokensPerCheckpoint;
  if (system) {
    prefix += estimateTokensLow(system);
    if (rules.fields.includes('system') && fits()) {
      plan.system = true;
      placed++;
    }
  }
  if (!rules.fields.includes('messages')) return plan;
  // History ends at messages.length - 2 (the prompt is last); the previous call's history two messages earlier.
  const last = messages.length - 2;
  const wanted = new Set((history === 'all' ? [last - 2, last] : history === 'read' ? [last - 2] : []).filter((i) => i >= 0));
  for (let i = 0; i <= last; i++) {
    prefix += estimateTokensLow(messages[i]!);
    if (wanted.has(i) && fits()) {
      plan.afterMessages.push(i);
      placed++;
    }
  }
  return plan;
}
