/**
 * The Redis keys of one run, in one place. All share the queue prefix (and its `{hash tag}`), so a
 * run's keys live in the same Redis Cluster slot as its conversations and jobs.
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

/** Sorted set of every run id, scored by creation time. */
export const runsIndexKey = (prefix: string): string => `${prefix}:runs`;
