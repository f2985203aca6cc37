/**
 * The ids of a run's admitted conversations, in admission order, one page at a time, read
 * through the run store (store/run-store.ts), which owns the run's keys (`prefix`: QUEUE_PREFIX,
 * or the deployment's shards: a run's keys are at its shard).
 */
import type { Redis } from 'ioredis';
import { RunStore, type RunArchiveReader } from '../store/run-store';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import type { ShardSet } from '../shared/redis-shards';

/**
 * Yields the run's conversation ids page by page (by rank, `pageSize` at a time), so a run of
 * any size is never held whole. Conversations admitted during the export are appended at the end
 * (higher scores) and are included when they arrive before the last page is read.
 */
export async function* runConversationIds(
  redis: Redis,
  prefix: string | ShardSet,
  runId: string,
  pageSize = 500,
  archive?: RunArchiveReader,
): AsyncGenerator<string> {
  // An archived run's ids come from the archive, in the same admission order.
  const runs = new RunStore(redis, prefix, archive);
  for (let start = 0; ; start += pageSize) {
    const page = await runs.conversations(runId, start, pageSize);
    yield* page;
    if (page.length < pageSize) return;
  }
}

/** Whether the run exists: its hash is there, or it has admitted conversations. */
export async function runExists(redis: Redis, prefix: string | ShardSet, runId: string, archive?: RunArchiveReader): Promise<boolean> {
  return new RunStore(redis, prefix, archive).exists(runId);
}

/** How many of a run's admitted conversations are gone (their record expired or was removed). */
export interface MissingConversations {
  /** Admitted conversations. */
  total: number;
  /** Of those, without a record. */
  missing: number;
  /** The first missing ids (at most `keep`). */
  ids: string[];
}

/**
 * Counts the run's admitted conversations whose record is gone, one EXISTS pipeline per page of
 * ids; `recordKey` names a conversation's record (store/conversation-store.ts `recordKeys`).
 */
export async function missingConversations(
  redis: Redis,
  prefix: string | ShardSet,
  runId: string,
  recordKey: (id: string) => string,
  keep = 100,
  pageSize = 500,
  archive?: Pick<ArchiveStore, 'has'> & RunArchiveReader,
): Promise<MissingConversations> {
  const out: MissingConversations = { total: 0, missing: 0, ids: [] };
  let page: string[] = [];
  const check = async () => {
    const p = redis.pipeline();
    for (const id of page) p.exists(recordKey(id));
    const found = (await p.exec()) ?? [];
    // Not in Redis: archived (reads fall through to the archive), or gone.
    const notInRedis = page.filter((_, i) => found[i]?.[1] !== 1);
    const archived = archive && notInRedis.length ? await archive.has(notInRedis) : new Set<string>();
    page.forEach((id, i) => {
      if (found[i]?.[1] !== 1 && !archived.has(id)) {
        out.missing++;
        if (out.ids.length < keep) out.ids.push(id);
      }
    });
    out.total += page.length;
    page = [];
  };
  for await (const id of runConversationIds(redis, prefix, runId, pageSize, archive)) {
    page.push(id);
    if (page.length >= pageSize) await check();
  }
  if (page.length) await check();
  return out;
}
