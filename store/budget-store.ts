/**
 * Budgets in Redis that cannot be overspent, however many workers on however many hosts call at
 * once: one Lua script reserves a call's worst case against every budget that applies and refuses
 * when any would exceed its limit; after the call another settles the real usage (the unused part
 * of the reservation is released). Redis runs each script alone, so check and reserve are one step.
 *
 * Keys (all under the queue prefix's hash tag, so one script may touch them in a Cluster):
 *   <prefix>:conv:{<id>}:budget        hash  usd, tokens (limits), spentUsd, spentTokens, resUsd, resTokens
 *   <prefix>:run:<runId>:budget        hash  the same for a run (written by the run's admission)
 *   <prefix>:caller:<id>:budget        hash  the same for an API key of API_KEYS_FILE (store/caller-store.ts)
 * Each also counts its settled `calls`.
 *   <budget key>:res                   hash  reservation id → "<usd> <tokens> <expiresAtMs>"
 * USD amounts are integers of nano-dollars (1e-9 USD), so sums stay exact in Lua's doubles.
 *
 * A reservation is keyed by the job (one call per job at a time): a retry of the job first
 * releases what its crashed attempt reserved, and every reservation expires (a worker that died
 * and whose job never ran again cannot hold budget forever). A budget without a `usd` limit
 * ignores prices; one with a `usd` limit refuses a model without a known price.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { BudgetAmount, BudgetScope, BudgetState, BudgetStore as BudgetStoreInterface, ReserveResult } from './interfaces/budget-store';
import { loadScript } from './redis-script';

export type { BudgetAmount, BudgetLimits, BudgetScope, BudgetState, ReserveResult } from './interfaces/budget-store';
import { runKeys } from './run-keys';

// The scripts, store/lua/budget/ (headers there name KEYS, ARGV and the reply): KEYS are pairs of a budget hash and its reservations.
const RESERVE = loadScript('budget/reserve', 'variadic');
const SETTLE = loadScript('budget/settle', 'variadic');

const keysOf = (scopes: BudgetScope[]) => scopes.flatMap((s) => [s.key, `${s.key}:res`]);
const arg = (n: number | undefined) => (n === undefined ? '' : String(Math.round(n)));

/** The budget keys of a conversation and of a run. */
export const conversationBudgetKey = (prefix: string, conversationId: string): string => `${prefix}:conv:{${conversationId}}:budget`;
export const runBudgetKey = (prefix: string, runId: string): string => `${runKeys(prefix, runId).run}:budget`;

/** Dollars to the script's nano-dollars, rounded up (a reservation never undercounts). */
export const toNano = (usd: number): number => Math.ceil(usd * 1e9 - 1e-6);

/**
 * Adds to `m` (the MULTI of the store that opens the budget: a run's, the callers') the commands
 * that make budget `key` exist (`since`, so every call books its cost there) and write `limits`
 * (dollars and tokens). `'merge'` leaves a limit not given as it is; `'replace'` removes it.
 */
export function writeBudgetLimits(
  m: ChainableCommander,
  key: string,
  limits: { usd?: number; tokens?: number } | undefined,
  mode: 'merge' | 'replace',
): void {
  m.hsetnx(key, 'since', String(Date.now()));
  if (limits?.usd !== undefined) m.hset(key, 'usd', String(toNano(limits.usd)));
  else if (mode === 'replace') m.hdel(key, 'usd');
  if (limits?.tokens !== undefined) m.hset(key, 'tokens', String(limits.tokens));
  else if (mode === 'replace') m.hdel(key, 'tokens');
}

export class BudgetStore implements BudgetStoreInterface {
  constructor(readonly redis: Redis) {}

  /**
   * Reserves `amount` against every scope that exists (or is created from its `init`), or none of
   * them. `ttlMs` is how long the reservation holds if never settled.
   */
  async reserve(
    scopes: BudgetScope[],
    reservationId: string,
    amount: BudgetAmount,
    ttlMs: number,
    keepSeconds: number,
  ): Promise<ReserveResult> {
    if (scopes.length === 0) return { ok: true };
    const now = Date.now();
    const res = (await RESERVE.run(this.redis, keysOf(scopes), [
      reservationId,
      amount.usdNano === null ? -1 : amount.usdNano,
      amount.tokens,
      now,
      now + ttlMs,
      Math.max(1, Math.ceil(keepSeconds)),
      ...scopes.flatMap((s) => [arg(s.init?.usdNano), arg(s.init?.tokens)]),
    ])) as [number, number?, string?, number?, number?, number?];
    if (res[0] === 1) return { ok: true };
    const scope = scopes[res[1]! - 1]!.name;
    const reason = res[2] as 'usd' | 'tokens' | 'price_unknown';
    const [limit, spent, reserved] = [Number(res[3]), Number(res[4]), Number(res[5])];
    const fmt = (v: number) => (reason === 'tokens' ? `${v} tokens` : `$${(v / 1e9).toFixed(6)}`);
    const need = reason === 'tokens' ? amount.tokens : (amount.usdNano ?? 0);
    const message =
      reason === 'price_unknown'
        ? `the ${scope} budget is in USD but the model has no known price (set its prices in MODEL_CATALOG_FILE)`
        : `the ${scope} budget of ${fmt(limit)} cannot cover the next call's worst case of ${fmt(need)} (spent ${fmt(spent)}, reserved by running calls ${fmt(reserved)})`;
    return reason === 'price_unknown'
      ? { ok: false, scope, reason, message }
      : { ok: false, scope, reason, message, available: Math.max(0, limit - spent - reserved) };
  }

  /** Releases the reservation and books the real usage on every scope. */
  async settle(scopes: BudgetScope[], reservationId: string, used: { usdNano: number; tokens: number }): Promise<void> {
    if (scopes.length === 0) return;
    await SETTLE.run(this.redis, keysOf(scopes), [
      reservationId,
      Math.max(0, Math.round(used.usdNano)),
      Math.max(0, Math.round(used.tokens)),
    ]);
  }

  /** Records on a hash (a caller's; a run's is the run store's, RunStore.markBudgetExhausted) that its budget refused a call: `budgetExhausted` = the first refusal's message. */
  async markExhausted(hashKey: string, message: string): Promise<void> {
    await this.redis.hsetnx(hashKey, 'budgetExhausted', message);
  }

  /** A budget's limits, spending and open reservations; null when it does not exist. */
  async state(key: string): Promise<BudgetState | null> {
    const h = await this.redis.hgetall(key);
    if (Object.keys(h).length === 0) return null;
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    return {
      limits: {
        ...(h.usd !== undefined ? { usdNano: Number(h.usd) } : {}),
        ...(h.tokens !== undefined ? { tokens: Number(h.tokens) } : {}),
      },
      spentUsdNano: n(h.spentUsd),
      spentTokens: n(h.spentTokens),
      reservedUsdNano: n(h.resUsd),
      reservedTokens: n(h.resTokens),
    };
  }
}
