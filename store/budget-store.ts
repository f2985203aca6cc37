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
import type { Redis } from 'ioredis';
import { RedisScript } from './redis-script';
import { runKeys } from './run-keys';

/** The limits of a budget in the script's units. */
export interface BudgetLimits {
  /** Nano-dollars. */
  usdNano?: number;
  tokens?: number;
}

/** A call's worst case or real usage; `usdNano` null when the model has no price. */
export interface BudgetAmount {
  usdNano: number | null;
  tokens: number;
}

/** One budget a call is checked against. */
export interface BudgetScope {
  /** What it is, for messages: "conversation" or "run <id>". */
  name: string;
  key: string;
  /** Written into the hash if it has no limits yet (a conversation's budget, created on first use). */
  init?: BudgetLimits;
}

export type ReserveResult = { ok: true } | { ok: false; scope: string; reason: 'usd' | 'tokens' | 'price_unknown'; message: string };

/** The state of one budget. */
export interface BudgetState {
  limits: BudgetLimits;
  spentUsdNano: number;
  spentTokens: number;
  reservedUsdNano: number;
  reservedTokens: number;
}

/**
 * KEYS: budget1, res1, budget2, res2, …
 * ARGV: reservation id, usd (nano; -1 = no price), tokens, now ms, expires-at ms, ttl s,
 *       then per budget: init usd (nano; '' none), init tokens ('' none).
 * Returns {1} or {0, budget index (1-based), 'usd'|'tokens'|'price_unknown', limit, spent, reserved}.
 */
const RESERVE = new RedisScript(`
-- Integers as text: Lua prints -0 and large numbers (1e+15) in forms HINCRBY refuses.
local function int(x) return string.format('%d', x) end
local id, usd, tok, now, exp, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local n = #KEYS / 2
local live = {}
for i = 1, n do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  local iu, it = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  if (iu ~= '' or it ~= '') and redis.call('EXISTS', b) == 0 then
    if iu ~= '' then redis.call('HSET', b, 'usd', iu) end
    if it ~= '' then redis.call('HSET', b, 'tokens', it) end
    redis.call('EXPIRE', b, ttl)
  end
  if redis.call('EXISTS', b) == 1 then
    -- Release expired reservations and this job's own earlier one (a retry after a crash).
    local all = redis.call('HGETALL', r)
    for j = 1, #all, 2 do
      local ru, rt, rx = string.match(all[j + 1], '^(%S+) (%S+) (%S+)$')
      if all[j] == id or tonumber(rx) <= now then
        redis.call('HINCRBY', b, 'resUsd', int(0 - tonumber(ru)))
        redis.call('HINCRBY', b, 'resTokens', int(0 - tonumber(rt)))
        redis.call('HDEL', r, all[j])
      end
    end
    live[#live + 1] = i
  end
end
for _, i in ipairs(live) do
  local b = KEYS[2 * i - 1]
  local h = redis.call('HMGET', b, 'usd', 'tokens', 'spentUsd', 'spentTokens', 'resUsd', 'resTokens')
  local lu, lt = tonumber(h[1]), tonumber(h[2])
  local su, st, ru, rt = tonumber(h[3] or 0), tonumber(h[4] or 0), tonumber(h[5] or 0), tonumber(h[6] or 0)
  if lu and usd < 0 then return {0, i, 'price_unknown', lu, su, ru} end
  if lu and su + ru + usd > lu then return {0, i, 'usd', lu, su, ru} end
  if lt and st + rt + tok > lt then return {0, i, 'tokens', lt, st, rt} end
end
for _, i in ipairs(live) do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  local u = math.max(usd, 0)
  redis.call('HINCRBY', b, 'resUsd', int(u))
  redis.call('HINCRBY', b, 'resTokens', int(tok))
  redis.call('HSET', r, id, int(u) .. ' ' .. int(tok) .. ' ' .. exp)
  local t = redis.call('PTTL', b)
  if t > 0 then redis.call('PEXPIRE', r, t) end
end
return {1}
`);

/**
 * KEYS: budget1, res1, …  ARGV: reservation id, usd (nano), tokens.
 * Releases the reservation (if it is still there) and adds the real usage to every budget.
 */
const SETTLE = new RedisScript(`
local function int(x) return string.format('%d', x) end
local id, usd, tok = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, #KEYS / 2 do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', b) == 1 then
    local v = redis.call('HGET', r, id)
    if v then
      local ru, rt = string.match(v, '^(%S+) (%S+)')
      redis.call('HINCRBY', b, 'resUsd', int(0 - tonumber(ru)))
      redis.call('HINCRBY', b, 'resTokens', int(0 - tonumber(rt)))
      redis.call('HDEL', r, id)
    end
    redis.call('HINCRBY', b, 'spentUsd', int(usd))
    redis.call('HINCRBY', b, 'spentTokens', int(tok))
    redis.call('HINCRBY', b, 'calls', 1)
  end
end
return 1
`);

const keysOf = (scopes: BudgetScope[]) => scopes.flatMap((s) => [s.key, `${s.key}:res`]);
const arg = (n: number | undefined) => (n === undefined ? '' : String(Math.round(n)));

/** The budget keys of a conversation and of a run. */
export const conversationBudgetKey = (prefix: string, conversationId: string): string => `${prefix}:conv:{${conversationId}}:budget`;
export const runBudgetKey = (prefix: string, runId: string): string => `${runKeys(prefix, runId).run}:budget`;

/** Dollars to the script's nano-dollars, rounded up (a reservation never undercounts). */
export const toNano = (usd: number): number => Math.ceil(usd * 1e9 - 1e-6);

export class BudgetStore {
  constructor(private readonly redis: Redis) {}

  /**
   * Reserves `amount` against every scope that exists (or is created from its `init`), or none of
   * them. `ttlMs` is how long the reservation holds if never settled.
   */
  async reserve(scopes: BudgetScope[], reservationId: string, amount: BudgetAmount, ttlMs: number, keepSeconds: number): Promise<ReserveResult> {
    if (scopes.length === 0) return { ok: true };
    const now = Date.now();
    const res = (await RESERVE.run(this.redis, keysOf(scopes), [
      reservationId, amount.usdNano === null ? -1 : amount.usdNano, amount.tokens, now, now + ttlMs, Math.max(1, Math.ceil(keepSeconds)),
      ...scopes.flatMap((s) => [arg(s.init?.usdNano), arg(s.init?.tokens)]),
    ])) as [number, number?, string?, number?, number?, number?];
    if (res[0] === 1) return { ok: true };
    const scope = scopes[res[1]! - 1]!.name;
    const reason = res[2] as 'usd' | 'tokens' | 'price_unknown';
    const [limit, spent, reserved] = [Number(res[3]), Number(res[4]), Number(res[5])];
    const fmt = (v: number) => (reason === 'tokens' ? `${v} tokens` : `$${(v / 1e9).toFixed(6)}`);
    const need = reason === 'tokens' ? amount.tokens : (amount.usdNano ?? 0);
    const message = reason === 'price_unknown'
      ? `the ${scope} budget is in USD but the model has no known price (set it in PRICES_FILE)`
      : `the ${scope} budget of ${fmt(limit)} cannot cover the next call's worst case of ${fmt(need)} (spent ${fmt(spent)}, reserved by running calls ${fmt(reserved)})`;
    return { ok: false, scope, reason, message };
  }

  /** Releases the reservation and books the real usage on every scope. */
  async settle(scopes: BudgetScope[], reservationId: string, used: { usdNano: number; tokens: number }): Promise<void> {
    if (scopes.length === 0) return;
    await SETTLE.run(this.redis, keysOf(scopes), [reservationId, Math.max(0, Math.round(used.usdNano)), Math.max(0, Math.round(used.tokens))]);
  }

  /** Records on the run that its budget refused a call (`message`): the run admits nothing more. */
  async markRunExhausted(prefix: string, runId: string, message: string): Promise<void> {
    await this.markExhausted(runKeys(prefix, runId).run, message);
  }

  /** Records on a hash (a run's, a caller's) that its budget refused a call: `budgetExhausted` = the first refusal's message. */
  async markExhausted(hashKey: string, message: string): Promise<void> {
    await this.redis.hsetnx(hashKey, 'budgetExhausted', message);
  }

  /** A budget's limits, spending and open reservations; null when it does not exist. */
  async state(key: string): Promise<BudgetState | null> {
    const h = await this.redis.hgetall(key);
    if (Object.keys(h).length === 0) return null;
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    return {
      limits: { ...(h.usd !== undefined ? { usdNano: Number(h.usd) } : {}), ...(h.tokens !== undefined ? { tokens: Number(h.tokens) } : {}) },
      spentUsdNano: n(h.spentUsd), spentTokens: n(h.spentTokens), reservedUsdNano: n(h.resUsd), reservedTokens: n(h.resTokens),
    };
  }
}
