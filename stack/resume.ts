/**
 * What `npm start` finds in its embedded Redis from the last run, and the two repairs that make it
 * resume at once instead of after timeouts:
 * - jobs left `active` by the last stop (their worker is gone with that process) have their lock
 *   deleted and are marked in the queue's `stalled` set, so the first stall check of the new
 *   workers (BullMQ runs one as a Worker starts; `moveStalledJobsToWait-9.lua` moves a job that is
 *   in `stalled` and has no `:lock`) puts them back in `wait` — BullMQ's own recovery path, counted
 *   as one stall (MAX_STALLED_COUNT);
 * - conversations still `queued` (saved, turn 1 maybe never queued) get turn 1 queued; its job id
 *   is deterministic, so an existing job makes this a no-op.
 * Only safe on a private Redis whose data dir this process has locked: no other worker can hold
 * those jobs.
 */
import type { Redis } from 'ioredis';
import type { ConversationStore } from '../store/conversation-store';
import { isTerminal } from '../conversation/model';
import type { PipelineQueues } from '../queue/pipeline-queues';

export interface ResumeReport {
  /** Conversations not yet in a terminal state (among the latest 10 000). */
  unfinished: number;
  /** Jobs left active by the last stop, handed to stall recovery. */
  activeReleased: number;
  /** `queued` conversations whose turn 1 was (re)queued. */
  queuedRequeued: number;
}

const SCAN = 10_000;
const BATCH = 200;

/** Counts unfinished conversations and releases what the previous run left holding. */
export async function resumeUnfinished(redis: Redis, store: ConversationStore, queues: PipelineQueues): Promise<ResumeReport> {
  let activeReleased = 0;
  for (const q of queues.all) {
    const active = await q.getActive();
    if (active.length === 0) continue;
    const multi = redis.multi();
    for (const job of active) {
      if (!job?.id) continue;
      multi.del(`${q.toKey(job.id)}:lock`);
      multi.sadd(q.keys.stalled, job.id);
      activeReleased += 1;
    }
    multi.del(q.keys['stalled-check']);
    await multi.exec();
  }
  let unfinished = 0;
  let queuedRequeued = 0;
  const ids = await store.recent(SCAN);
  for (let i = 0; i < ids.length; i += BATCH) {
    const records = await Promise.all(ids.slice(i, i + BATCH).map((id) => store.get(id)));
    for (const rec of records) {
      if (!rec || isTerminal(rec.status)) continue;
      unfinished += 1;
      if (rec.status === 'queued') {
        await queues.enqueueCloud(rec.id, 1);
        queuedRequeued += 1;
      }
    }
  }
  return { unfinished, activeReleased, queuedRequeued };
}
