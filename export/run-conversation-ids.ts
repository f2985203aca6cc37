/**
 * The ids of a run's admitted conversations, in admission order, read from the run's sorted set
 * (store/run-keys.ts) one page at a time.
 */
import type { Redis } from 'ioredis';
import { runKeys } from '../store/run-keys';

/**
 * Yields the run's conversation ids page by page (ZRANGE by rank, `pageSize` at a time), so a run
 * of any size is never held whole. Conversations admitted during the export are appended at the
 * end (higher scores) and are included when they arrive before the last page is read.
 */
export async function* runConversationIds(redis: Redis, prefix: string, runId: string, pageSize = 500): AsyncGenerator<string> {
  const key = runKeys(prefix, runId).conversations;
  for (let start = 0; ; start += pageSize) {
    const page = await redis.zrange(key, String(start), String(start + pageSize - 1));
    yield* page;
    if (page.length < pageSize) return;
  }
}

/** Whether the run exists: its hash is there, or it has admitted conversations. */
export async function runExists(redis: Redis, prefix: string, runId: string): Promise<boolean> {
  const keys = runKeys(prefix, runId);
  const [exists, count] = await Promise.all([redis.exists(keys.run), redis.zcard(keys.conversations)]);
  return exists === 1 || count > 0;
}
