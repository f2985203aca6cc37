/**
 * The ids of a run's admitted conversations, in admission order, one page at a time, read
 * through the run store (store/run-store.ts), which owns the run's keys.
 */
import type { Redis } from 'ioredis';
import { RunStore } from '../store/run-store';

/**
 * Yields the run's conversation ids page by page (by rank, `pageSize` at a time), so a run of
 * any size is never held whole. Conversations admitted during the export are appended at the end
 * (higher scores) and are included when they arrive before the last page is read.
 */
export async function* runConversationIds(redis: Redis, prefix: string, runId: string, pageSize = 500): AsyncGenerator<string> {
  const runs = new RunStore(redis, prefix);
  for (let start = 0; ; start += pageSize) {
    const page = await runs.conversations(runId, start, pageSize);
    yield* page;
    if (page.length < pageSize) return;
  }
}

/** Whether the run exists: its hash is there, or it has admitted conversations. */
export async function runExists(redis: Redis, prefix: string, runId: string): Promise<boolean> {
  return new RunStore(redis, prefix).exists(runId);
}
