/**
 * A seed's identity in a run: the hash of its normalised text plus its effective settings, and the
 * conversation id derived from the run id and that hash, on the run's shard (REDIS_SHARDS). The id is UUID-shaped (hex, no ':', never
 * all digits), so BullMQ job ids built from it are valid and every conversation route accepts it.
 */
import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../shared/canonical-json';
import type { ShardSet } from '../shared/redis-shards';

/** NFC, trimmed, runs of whitespace as one space: "What  is\tX? " and "What is X?" are one seed. */
export function normaliseSeedText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ');
}

/**
 * The seed hash (32 hex digits): its normalised `initialQuery`, every other setting it runs with,
 * and the seed's own `id` when it has one (two seeds with the same text but different ids are
 * two seeds). `meta` is provenance, not identity.
 */
export function seedHash(request: Record<string, unknown>, seedId?: string): string {
  const { initialQuery, ...settings } = request;
  const basis = canonicalJson({ q: normaliseSeedText(String(initialQuery ?? '')), s: settings, id: seedId });
  return createHash('sha256').update(basis).digest('hex').slice(0, 32);
}

const uuidShaped = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;

/**
 * The first id of `derive(0)`, `derive(1)`, … on run `runId`'s shard (REDIS_SHARDS: a run's
 * conversations share its shard, so its scripts touch one slot); attempt 0 is the id as it was
 * before shards, and with one shard (or none given) it is the only one.
 */
function onRunShard(runId: string, shards: ShardSet | undefined, derive: (attempt: number) => string): string {
  return shards ? shards.newId(shards.shardOf(runId), derive) : derive(0);
}

/** The attempt's suffix of a derivation's input (none for attempt 0: today's ids). */
const attemptOf = (k: number) => (k === 0 ? '' : `\n${k}`);

/** The conversation id of seed `hash` in run `runId` (an owner-less run, or one from before callers), on the run's shard. */
export function runConversationId(runId: string, hash: string, shards?: ShardSet): string {
  return onRunShard(runId, shards, (k) =>
    uuidShaped(
      createHash('sha256')
        .update(`${runId}\n${hash}${attemptOf(k)}`)
        .digest('hex'),
    ),
  );
}

/**
 * The conversation id of seed `hash` in run `runId` of `owner` (docs/callers.md): keyed with the
 * server's secret (store/run-store.ts `idSecret`), so a caller who knows another's run id and
 * seeds still cannot compute its ids; the same owner resuming the same run gets the same ids. On
 * the run's shard, as {@link runConversationId}.
 */
export function ownedRunConversationId(secret: Buffer, owner: string, runId: string, hash: string, shards?: ShardSet): string {
  return onRunShard(runId, shards, (k) =>
    uuidShaped(
      createHmac('sha256', secret)
        .update(`${owner}\n${runId}\n${hash}${attemptOf(k)}`)
        .digest('hex'),
    ),
  );
}

/** How a run derives its conversation ids: 1 unkeyed (owner-less runs, runs from before callers), 2 keyed. */
export type RunIdDerivation = 1 | 2;

/** Run ids: letters, digits, `_` and `-`, 1–64, not all digits (they become part of Redis keys and URLs). */
export const RUN_ID = /^(?!\d+$)[A-Za-z0-9_-]{1,64}$/;
