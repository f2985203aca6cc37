/**
 * What a run would cost at most, before anything is spent (`llmconv run … --dry-run`,
 * `llmconv estimate`): every seed runs all its turns, every reply is `maxTokens` long, and each
 * call's input is its prompt plus the history window, counted as the budget gate counts it (one
 * token per UTF-8 byte of the seed's query; `maxTokens` per earlier reply or generated prompt).
 * An upper bound, not a forecast: real replies are usually shorter.
 */
import type { EstimateView } from '../api/http-contract';
import { callCostUsd, type PriceTable, roundUsd } from './price-table';
import { DEFAULT_CONTEXT_TURNS } from '../shared/limits';

export interface EstimateInput {
  /** The seeds' initial queries (or objects with `initialQuery`, and their own `maxTurns`/`maxTokens`). */
  seeds: (string | { initialQuery: string; maxTurns?: number; maxTokens?: number })[];
  /** Turns per conversation (a seed's own `maxTurns` wins). */
  turns: number;
  /** Output cap per reply (a seed's own `maxTokens` wins). */
  maxTokens: number;
  models: { cloud: string; local: string };
  prices: PriceTable;
  /** Earlier exchanges each model sees (default: the conversations' default, shared/limits.ts). */
  contextTurns?: number;
  /**
   * Prompt caching on the cloud model (the conversations' default where the catalogue says it
   * lowers the cost): the history is the `blocks` policy's (the whole history up to
   * `contextTokens` estimated tokens, i.e. 4 × that many bytes, the newest exchange always), and
   * every cloud input token is priced as a cache write (at its premium, where there is one); the
   * cheaper reads are not counted, so the bound holds whatever Bedrock caches.
   */
  cache?: { contextTokens: number };
}

/** The estimate itself: what `POST /estimate` answers, less the assumptions it states. */
export type CostEstimate = Omit<EstimateView, 'assumptions'>;

/** The worst-case cost of running `seeds` (see the file comment). */
export function estimateCost(input: EstimateInput): CostEstimate {
  const ctx = input.contextTurns ?? DEFAULT_CONTEXT_TURNS;
  let calls = 0;
  const tokens = { cloud: { in: 0, out: 0 }, local: { in: 0, out: 0 } };
  for (const seed of input.seeds) {
    const s = typeof seed === 'string' ? { initialQuery: seed } : seed;
    const turns = s.maxTurns ?? input.turns;
    const max = s.maxTokens ?? input.maxTokens;
    const query = Buffer.byteLength(s.initialQuery, 'utf8');
    for (let k = 1; k <= turns; k++) {
      const history = input.cache
        ? Math.min((k - 1) * 2 * max, Math.max(4 * input.cache.contextTokens, k > 1 ? 2 * max : 0))
        : Math.min(k - 1, ctx) * 2 * max;
      // Cloud: the seed's query on turn 1, a question built from the last follow-up after.
      tokens.cloud.in += (k === 1 ? query : max) + history;
      tokens.cloud.out += max;
      // Local: a prompt built from the cloud answer.
      tokens.local.in += max + history;
      tokens.local.out += max;
      calls += 2;
    }
  }
  const cloudUsd = input.cache
    ? callCostUsd(input.models.cloud, 'cloud', 0, tokens.cloud.out, input.prices, { writeTokens: tokens.cloud.in })
    : callCostUsd(input.models.cloud, 'cloud', tokens.cloud.in, tokens.cloud.out, input.prices);
  const localUsd = callCostUsd(input.models.local, 'local', tokens.local.in, tokens.local.out, input.prices);
  const unpricedModels = [cloudUsd === null ? input.models.cloud : undefined, localUsd === null ? input.models.local : undefined].filter(
    (m): m is string => m !== undefined,
  );
  return {
    conversations: input.seeds.length,
    calls,
    inputTokens: tokens.cloud.in + tokens.local.in,
    outputTokens: tokens.cloud.out + tokens.local.out,
    cloudUsd,
    localUsd,
    totalUsd: cloudUsd === null || localUsd === null ? null : roundUsd(cloudUsd + localUsd),
    unpricedModels,
  };
}
