/**
 * Who is calling the producer (docs/callers.md): one key of API_KEYS_FILE, or the owner-less admin
 * (`API_KEY`, or no key at all). Plain data and the visibility rule; the producer authenticates
 * (producer/caller-keys.ts), the stores record `id` as the owner, the services check `canSee`.
 */

export interface Caller {
  /** The key id (recorded as `owner`); undefined for the owner-less admin, which records none. */
  id?: string;
  /** For people (logs). */
  name: string;
  /** Sees and cancels every conversation and run. */
  admin: boolean;
  /** Conversations of this caller in flight at once. */
  maxActive?: number;
  /** This caller's total spend. */
  budget?: { usd?: number; tokens?: number };
}

/** `API_KEY`, or a producer without any key: sees everything, records no owner (as before callers). */
/** A key with a limit the stores' scripts check (maxActive, a budget): under REDIS_SHARDS its work stays on its own shard (ConversationStore.shardForNew). */
export function isLimited(caller: Caller): boolean {
  return caller.id !== undefined && (caller.maxActive !== undefined || caller.budget !== undefined);
}

export const OWNERLESS_ADMIN: Caller = Object.freeze({ name: 'admin', admin: true });

/** Key ids: they become Redis key parts, metric labels and run id qualifiers. */
export const CALLER_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Whether `caller` may see a record owned by `owner` (undefined: written without an owner). */
export function canSee(caller: Caller, owner: string | undefined): boolean {
  return caller.admin || (caller.id !== undefined && owner === caller.id);
}
