/**
 * What the domain needs of the budgets (the Redis implementation: store/budget-store.ts): a
 * call's worst case reserved against every budget that applies, or none, and its real usage
 * settled after.
 */

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

export type ReserveResult =
  | { ok: true }
  | {
      ok: false;
      scope: string;
      reason: 'usd' | 'tokens' | 'price_unknown';
      message: string;
      /** What the refusing budget has left (limit − spent − reserved), in its unit (tokens or nano-USD). */
      available?: number;
    };

/** The state of one budget. */
export interface BudgetState {
  limits: BudgetLimits;
  spentUsdNano: number;
  spentTokens: number;
  reservedUsdNano: number;
  reservedTokens: number;
}

/** Budgets that cannot be overspent, however many workers call at once. */
export interface BudgetStore {
  /** Reserves `amount` against every scope that exists (or is created from its `init`), or none of them. */
  reserve(scopes: BudgetScope[], reservationId: string, amount: BudgetAmount, ttlMs: number, keepSeconds: number): Promise<ReserveResult>;
  /** Releases the reservation and books the real usage on every scope. */
  settle(scopes: BudgetScope[], reservationId: string, used: { usdNano: number; tokens: number }): Promise<void>;
  /** Records on a hash that its budget refused a call (the first refusal's message). */
  markExhausted(hashKey: string, message: string): Promise<void>;
  /** A budget's limits, spending and open reservations; null when it does not exist. */
  state(key: string): Promise<BudgetState | null>;
}
