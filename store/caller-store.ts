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
 *   <prefix>:latest:<id>          list  the caller's conversation ids, newest first (trimmed; read by ConversationStore.recent)
 *   <prefix>:runs:by:<id>         zset  the caller's run ids by creation time
 *
 * With REDIS_SHARDS=N these keys exist per shard, beside the conversations and runs that count in
 * them: a key with a limit creates all its work on its own shard (`at(id)`, where the file's limits
 * are written; ConversationStore.shardForNew), so its limits stay exact inside one script; an
 * unlimited key's work spreads, and the readers here sum and merge every shard's.
 */
import type { Redis } from 'ioredis';
import { mergeScored, ShardSet } from '../shared/redis-shards';
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
    // On every shard (an unlimited key's work books its calls wherever it runs; a limited key's all
    // runs on its own), one transaction per shard: a MULTI's keys must share a slot on a cluster.
    for (const at of this.shards.prefixes) {
      const m = this.redis.multi();
      for (const c of callers) {
        const k = callerKey(at, c.id);
        if (c.maxActive !== undefined) m.hset(k, 'maxActive', String(c.maxActive));
        else m.hdel(k, 'maxActive');
        m.hdel(k, 'budgetExhausted');
        writeBudgetLimits(m, callerBudgetKey(at, c.id), c.budget, 'replace');
      }
      const replies = await m.exec();
      const failed = replies?.find(([err]) => err);
      if (failed) throw failed[0];
    }
  }

  /** The caller's run ids, newest first (RunStore.list of an owner), over every shard. */
  async runs(id: string, limit: number): Promise<string[]> {
    if (this.shards.count === 1) return this.redis.zrevrange(callerRunsKey(this.shards.global, id), 0, limit - 1);
    const each = await Promise.all(this.shards.prefixes.map((p) => this.redis.zrevrange(callerRunsKey(p, id), 0, limit - 1, 'WITHSCORES')));
    return mergeScored(each, 'desc', limit);
  }

  /** The key's usage, summed over every shard. */
  async usage(id: string): Promise<CallerUsage> {
    const each = await Promise.all(
      this.shards.prefixes.map((p) => Promise.all([this.redis.hgetall(callerKey(p, id)), this.redis.hgetall(callerBudgetKey(p, id))])),
    );
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    const sum = (pick: (h: Record<string, string>, b: Record<string, string>) => string | undefined) =>
      each.reduce((a, [h, b]) => a + n(pick(h, b)), 0);
    const exhausted = each.find(([h]) => h.budgetExhausted)?.[0].budgetExhausted;
    return {
      active: Math.max(
        0,
        sum((h) => h.active),
      ),
      conversations: sum((h) => h.conversations),
      runs: sum((h) => h.runs),
      calls: sum((_, b) => b.calls),
      tokens: sum((_, b) => b.spentTokens),
      costUsd: sum((_, b) => b.spentUsd) / 1e9,
      committedUsdNano: sum((_, b) => b.spentUsd) + sum((_, b) => b.resUsd),
      committedTokens: sum((_, b) => b.spentTokens) + sum((_, b) => b.resTokens),
      ...(exhausted ? { budgetExhausted: exhausted } : {}),
    };
  }
}
