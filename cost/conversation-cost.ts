/**
 * What a conversation's recorded steps cost by the price table: per step, per side and in total.
 * A step whose model has no price has cost `null`, and so has every sum that includes it (the
 * models without a price are named), so an unknown cost is never shown as a number.
 */
import type { Side, TurnRecord } from '../conversation/model';
import { callCostUsd, type PriceTable, roundUsd } from './price-table';

export interface ConversationCost {
  cloudUsd: number | null;
  localUsd: number | null;
  totalUsd: number | null;
  /** Models of recorded steps that have no price. */
  unpricedModels: string[];
}

/** The cost of one recorded step (null when its model has no price). */
export function stepCostUsd(
  side: Side,
  step: { model: string; inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number },
  prices: PriceTable,
): number | null {
  return callCostUsd(step.model, side, step.inputTokens, step.outputTokens, prices, {
    readTokens: step.cacheReadInputTokens,
    writeTokens: step.cacheWriteInputTokens,
  });
}

/** Sums the steps of `turns` per side. */
export function conversationCost(turns: TurnRecord[], prices: PriceTable): ConversationCost {
  const sums: Record<Side, number | null> = { cloud: 0, local: 0 };
  const unpriced = new Set<string>();
  for (const t of turns) {
    for (const side of ['cloud', 'local'] as const) {
      const step = t[side];
      if (!step) continue;
      const usd = stepCostUsd(side, step, prices);
      if (usd === null) unpriced.add(step.model);
      const prev = sums[side];
      sums[side] = usd === null || prev === null ? null : roundUsd(prev + usd);
    }
  }
  const totalUsd = sums.cloud === null || sums.local === null ? null : roundUsd(sums.cloud + sums.local);
  return { cloudUsd: sums.cloud, localUsd: sums.local, totalUsd, unpricedModels: [...unpriced] };
}
