/**
 * Per-caller state in Redis (docs/callers.md), owned here: this file names the keys, writes the
 * file's limits and reads usage, and its Lua fragments (store/lua/caller/includes/) are the only
 * code that writes the caller hash and lists inside scripts: the conversation store's create and
 * terminal transition count `active` and `conversations` through them, the run store's creation
 * and admission `runs` and `active`, in the same step as their own writes. The budget hash is the
 * budget store's (store/budget-store.ts: its scripts book the calls, `writeBudgetLimits` the limits).
 *
 * Keys (under the queue prefix's hash tag):
 *   <prefix>:caller:<id>          hash  maxActive (limit, from API_KEYS_FILE), active, conversations, runs,
 *                                       budgetExhausted (why the key's budget refused a call; cleared when the producer writes the limits)
 *   <prefix>:caller:<id>:budget   hash  a budget (store/budget-store.ts): usd, tokens, spentUsd, spentTokens, calls, …
 *   <prefix>:latest:<id>          list  the caller's conversation ids, newest first (trimmed)
 *   <prefix>:runs:by:<id>         zset  the caller's run ids by creation time
 *
 * With REDIS_SHARDS=N a key's state is on its id's shard (`at(id)`), where all its conversations and
 * runs are created (ConversationStore.shardForNew), so its limits stay exact inside one script.
 */
import type { Redis } from 'ioredis';
import { ShardSet } from '../shared/redis-shards';
import { writeBudgetLimits } from './budget-store';
import type { CallerLimits, CallerStore as CallerStoreInterface, CallerUsage } from './interfaces/caller-store';

export type { CallerLimits, CallerUsage } from './interfaces/caller-store';

export const callerKey = (prefix: string, id: string): string => `${prefix}:caller:${id}`;
export const callerBudgetKey = (prefix: string, id: string): string => `${prefix}:caller:${id}:budget`;
export const callerLatestKey = (prefix: string, id: string): string => `${prefix}:latest:${id}`;
export const callerRunsKey = (prefix: string, id: string): string => `${prefix}:runs:by:${id}`;

/** The caller store in Redis (the interface: store/interfaces/caller-store.ts). */
export class CallerStore implements CallerStoreInterface {
  private readonly shards: ShardSet;

  constructor(
    private readonly redis: Redis,
    prefix: string | ShardSet,
  ) {
    this.shards = ShardSet.of(prefix);
  }

  /**
   * Writes the file's limits (a removed limit is removed) and makes each budget hash exist, so
   * every call of a caller's conversations is booked there whether or not it has a limit.
   */
  async syncLimits(callers: readonly CallerLimits[]): Promise<void> {
    if (!callers.length) return;
    const m = this.redis.multi();
    for (const c of callers) {
      const k = callerKey(this.shards.at(c.id), c.id);
      if (c.maxActive !== undefined) m.hset(k, 'maxActive', String(c.maxActive));
      else m.hdel(k, 'maxActive');
      m.hdel(k, 'budgetExhausted');
      writeBudgetLimits(m, callerBudgetKey(this.shards.at(c.id), c.id), c.budget, 'replace');
    }
    await m.exec();
  }

  /** The caller's latest `POST /conversation` ids, newest first (ConversationStore.recent of an owner). */
  async latest(id: string, limit: number): Promise<string[]> {
    return this.redis.lrange(callerLatestKey(this.shards.at(id), id), 0, Math.max(0, limit - 1));
  }

  /** The caller's run ids, newest first (RunStore.list of an owner). */
  async runs(id: string, limit: number): Promise<string[]> {
    return this.redis.zrevrange(callerRunsKey(this.shards.at(id), id), 0, limit - 1);
  }

  async usage(id: string): Promise<CallerUsage> {
    const [h, b] = await Promise.all([
      this.redis.hgetall(callerKey(this.shards.at(id), id)),
      this.redis.hgetall(callerBudgetKey(this.shards.at(id), id)),
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
