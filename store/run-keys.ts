/**
 * The Redis keys of one run, in one place. All share one prefix (and its `{hash tag}`): the run's
 * shard, `shards.at(runId)` (QUEUE_PREFIX itself with one shard; shared/redis-shards.ts), where its
 * conversations and their jobs are too (their ids are drawn there), so they live in one Redis
 * Cluster slot. `prefix` below is that shard's prefix.
 */
export interface RunKeys {
  /** Hash: the run's settings, counters and state. */
  run: string;
  /** Sorted set: the ids of the run's admitted conversations, scored by admission order. */
  conversations: string;
  /** The run's own compact backlog of seeds waiting for admission. */
  backlog: string;
  /** The lines the run rejected, with line number and reason. */
  rejected: string;
}

/** The keys of run `runId` under `prefix` (QUEUE_PREFIX). */
export function runKeys(prefix: string, runId: string): RunKeys {
  const base = `${prefix}:run:${runId}`;
  return { run: base, conversations: `${base}:convs`, backlog: `${base}:backlog`, rejected: `${base}:rejected` };
}

/** Sorted set of the run ids of one shard, scored by creation time (RunStore.list merges the shards'). */
export const runsIndexKey = (prefix: string): string => `${prefix}:runs`;
