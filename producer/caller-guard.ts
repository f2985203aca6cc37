/**
 * A caller's limits at submission (docs/callers.md): new work is refused once the key's budget in
 * API_KEYS_FILE is spent (402 `caller_budget_exhausted`); its `maxActive` is enforced by the stores'
 * scripts and answered here (429 `caller_max_active`). The workers bound each call by the same
 * budget (workers/budget-gate.ts), so a conversation started under the budget still stops at it.
 */
import type { Redis } from 'ioredis';
import type { Caller } from '../shared/caller';
import { PipelineError } from '../shared/errors';
import { CallerStore } from '../store/caller-store';
import { toNano } from '../store/budget-store';
import type { ShardSet } from '../shared/redis-shards';

export class CallerGuard {
  private readonly store: CallerStore;

  constructor(redis: Redis, prefix: string | ShardSet) {
    this.store = new CallerStore(redis, prefix);
  }

  /** Throws 402 when the caller's budget is spent (or held by running calls), or refused a call already. */
  async assertBudget(caller: Caller): Promise<void> {
    if (caller.id === undefined || !caller.budget) return;
    const u = await this.store.usage(caller.id);
    const { usd, tokens } = caller.budget;
    const overUsd = usd !== undefined && u.committedUsdNano >= toNano(usd);
    const overTokens = tokens !== undefined && u.committedTokens >= tokens;
    if (!overUsd && !overTokens && !u.budgetExhausted) return;
    const what = overUsd
      ? `$${usd} (spent or reserved $${(u.committedUsdNano / 1e9).toFixed(6)})`
      : overTokens
        ? `${tokens} tokens (spent or reserved ${u.committedTokens})`
        : u.budgetExhausted!;
    throw new PipelineError(
      `the budget of API key "${caller.id}" is exhausted: ${what}; raise budget of "${caller.id}" in API_KEYS_FILE (and restart the producer)`,
      {
        code: 'caller_budget_exhausted',
        status: 402,
        details: { key: caller.id, budget: caller.budget },
      },
    );
  }
}

/** The 429 for a caller at its `maxActive`. */
export function callerBusyError(caller: Caller, busy: { maxActive: number; active: number }): PipelineError {
  return new PipelineError(
    `API key "${caller.id}" already has ${busy.active} conversations in flight, its maxActive of ${busy.maxActive} (API_KEYS_FILE); retry when one ends or raise maxActive`,
    { code: 'caller_max_active', status: 429, details: { key: caller.id, maxActive: busy.maxActive, active: busy.active } },
  );
}
