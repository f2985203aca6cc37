/**
 * What the domain needs of the per-caller store (docs/callers.md; the Redis implementation:
 * store/caller-store.ts): each API key's limits from API_KEYS_FILE and what it used.
 */

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

/** Per API key: limits in, usage out. */
export interface CallerStore {
  /** Writes the file's limits (a removed limit is removed) and opens each key's budget. */
  syncLimits(callers: readonly CallerLimits[]): Promise<void>;
  /** The caller's run ids, newest first. */
  runs(id: string, limit: number): Promise<string[]>;
  usage(id: string): Promise<CallerUsage>;
}
