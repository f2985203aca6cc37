/**
 * Per-caller state in Redis (docs/callers.md). The scripts that change it live with the state
 * they change it beside: a conversation's creation and terminal transition count `active` and
 * `conversations` (store/conversation-store.ts), a run's creation and admission count `runs` and
 * `active` (store/run-store.ts), a call's settlement books into the budget hash
 * (store/budget-store.ts). This file names the keys, writes the file's limits and reads usage.
 *
 * Keys (under the queue prefix's hash tag):
 *   <prefix>:caller:<id>          hash  maxActive (limit, from API_KEYS_FILE), active, conversations, runs,
 *                                       budgetExhausted (why the key's budget refused a call; cleared when the producer writes the limits)
 *   <prefix>:caller:<id>:budget   hash  a budget (store/budget-store.ts): usd, tokens, spentUsd, spentTokens, calls, …
 *   <prefix>:latest:<id>          list  the caller's conversation ids, newest first (trimmed)
 *   <prefix>:runs:by:<id>         zset  the caller's run ids by creation time
 */
import type { Redis } from 'ioredis';
import { toNano } from './budget-store';

export const callerKey = (prefix: string, id: string): string => `${prefix}:caller:${id}`;
export const callerBudgetKey = (prefix: string, id: string): string => `${prefix}:caller:${id}:budget`;
export const callerLatestKey = (prefix: string, id: string): string => `${prefix}:latest:${id}`;
export const callerRunsKey = (prefix: string, id: string): string => `${prefix}:runs:by:${id}`;

export interface CallerLimits {
  id: string;
  maxActive?: number;
  budget?: { usd?: number; tokens?: number };
}

export interface CallerUsage {
  active: number;
  conversations: number;
  runs: number;
  calls: number;
  tokens: number;
  costUsd: number;
  /** Spent plus reserved by running calls, in the budget's units. */
  committedUsdNano: number;
  committedTokens: number;
  /** Why the key's budget refused a call (workers/budget-gate.ts), if it did. */
  budgetExhausted?: string;
}

export class CallerStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Writes the file's limits (a removed limit is removed) and makes each budget hash exist, so
   * every call of a caller's conversations is booked there whether or not it has a limit.
   */
  async syncLimits(callers: readonly CallerLimits[]): Promise<void> {
    if (!callers.length) return;
    const m = this.redis.multi();
    for (const c of callers) {
      const k = callerKey(this.prefix, c.id);
      const b = callerBudgetKey(this.prefix, c.id);
      if (c.maxActive !== undefined) m.hset(k, 'maxActive', String(c.maxActive));
      else m.hdel(k, 'maxActive');
      m.hdel(k, 'budgetExhausted');
      m.hsetnx(b, 'since', String(Date.now()));
      if (c.budget?.usd !== undefined) m.hset(b, 'usd', String(toNano(c.budget.usd)));
      else m.hdel(b, 'usd');
      if (c.budget?.tokens !== undefined) m.hset(b, 'tokens', String(c.budget.tokens));
      else m.hdel(b, 'tokens');
    }
    await m.exec();
  }

  async usage(id: string): Promise<CallerUsage> {
    const [h, b] = await Promise.all([
      this.redis.hgetall(callerKey(this.prefix, id)),
      this.redis.hgetall(callerBudgetKey(this.prefix, id)),
    ]);
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    return {
      active: Math.max(0, n(h.active)),
      conversations: n(h.conversations),
      runs: n(h.runs),
      calls: n(b.calls),
      tokens: n(b.spentTokens),
      costUsd: n(b.spentUsd) / 1e9,
      committedUsdNano: n(b.spentUsd) + n(b.resUsd),
      committedTokens: n(b.spentTokens) + n(b.resTokens),
      ...(h.budgetExhausted ? { budgetExhausted: h.budgetExhausted } : {}),
    };
  }
}
