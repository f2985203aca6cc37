/**
 * A periodic sweep that closes the two gaps events cannot: a job that failed for good while no
 * host was alive to record it (its conversation would stay `running`), and a conversation whose
 * producer died between saving it and queueing turn 1 (it would stay `queued`); and, with an
 * archive, a finished conversation a crash left between its transition and its archive write (in
 * `<p>:unarchived`: ending/archive-finished.ts), and a finished run whose last conversation was
 * archived (in `<p>:runs-unarchived`: ending/archive-run.ts). The repairs are
 * idempotent (terminal transitions happen once; job ids are deterministic), so every host may
 * run the sweep.
 */
import { WORKER_ROLES, type WorkerRole } from '../shared/config';
import type { Logger } from '../shared/logger';
import { isTerminal } from '../conversation/model';
import type { PipelineDeps } from './step-lifecycle';
import { RunAdmission } from '../runs/run-admission';
import { ConversationEnding } from '../ending/end-conversation';
import { jobIds } from '../queue/job-types';
import { archiveRun } from '../ending/archive-run';
import { RunStore } from '../store/run-store';

/**
 * How old a run's unfinished admission must be before the sweep redoes it. Short: redoing one that
 * is still under way is harmless (record created only if absent, turn 1 under its job id).
 */
const RUN_ADMISSION_GRACE_MS = 5_000;

/**
 * How long ago a conversation in `<p>:unarchived` must have finished before the sweep archives it:
 * its transcript step normally does within this (a repeat is harmless: the write is an upsert).
 */
const ARCHIVE_GRACE_MS = 10_000;

/**
 * How long a run must have been quiet (no conversation of it finished) before the sweep archives
 * it: long, so an upload still sending seeds is not caught between two batches with nothing in
 * flight (archived, an append is refused: docs/archive.md).
 */
const RUN_ARCHIVE_GRACE_MS = 60_000;

/** Job states of a transcript job that has yet to run (an active one may be a dead worker's: archived anyway, an upsert). */
const WAITING = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** A job that failed for good, as the worker host records it on its conversation. */
export interface FailedJob {
  role: WorkerRole;
  jobId: string;
  conversationId: string;
  failedReason: string;
}

export interface ReconcilerOptions {
  deps: PipelineDeps;
  /** Records a job's final failure on its conversation (the worker host's own handler). */
  onFailedJob(failure: FailedJob): Promise<void>;
  /** Sweep period in ms; 0 disables the timer (`sweepOnce` still works). */
  intervalMs: number;
  /** How old a `queued` conversation must be before turn 1 is queued again. Default 30 s. */
  queuedGraceMs?: number;
  /** How long ago an unarchived conversation must have finished before the sweep archives it. Default 10 s. */
  archiveGraceMs?: number;
  /** How long a run must have been quiet before the sweep archives it. Default 60 s. */
  runArchiveGraceMs?: number;
  /** How many failed jobs per queue and recent conversations one sweep looks at. Default 200. */
  batch?: number;
  logger: Logger;
}

export interface Reconciler {
  /** One sweep; resolves with what it repaired. */
  sweepOnce(): Promise<{ failedRecorded: number; requeued: number; admitted: number; archived: number; runsArchived: number }>;
  stop(): void;
}

export function startReconciler(opts: ReconcilerOptions): Reconciler {
  const { deps, logger } = opts;
  const batch = opts.batch ?? 200;
  const grace = opts.queuedGraceMs ?? 30_000;
  let running = false;
  const admission = new RunAdmission(deps);

  async function sweepOnce() {
    let failedRecorded = 0;
    let requeued = 0;
    // Every queue of every shard, whatever roles this host runs: any host can repair any conversation.
    for (const role of WORKER_ROLES) {
      const failed = (await Promise.all(deps.queues.allOf(role).map((q) => q.getFailed(0, batch - 1)))).flat();
      for (const job of failed) {
        if (!job?.id) continue;
        const before = await deps.store.get(job.data.conversationId);
        if (!before || isTerminal(before.status)) continue;
        await opts.onFailedJob({
          role,
          jobId: job.id,
          conversationId: job.data.conversationId,
          failedReason: job.failedReason ?? 'failed',
        });
        failedRecorded++;
      }
    }
    {
      const now = Date.now();
      for (const id of await deps.store.recent(batch)) {
        const rec = await deps.store.get(id);
        if (rec?.status === 'queued' && now - rec.createdAt >= grace) {
          await deps.queues.enqueueCloud(id, 1);
          requeued++;
        }
      }
    }
    // Runs: admissions a crash left half done, and free slots no finishing conversation filled.
    const admitted = await admission.sweep(Math.min(grace, RUN_ADMISSION_GRACE_MS));
    // Finished conversations a crash left between the transition and the archive's write.
    let archived = 0;
    if (deps.archive && deps.store.archiving) {
      const ending = new ConversationEnding(deps);
      for (const id of await deps.store.unarchived(Date.now() - (opts.archiveGraceMs ?? ARCHIVE_GRACE_MS), batch)) {
        // Its transcript job still waits to run: that job archives it, with the transcript's path.
        const job = await deps.queues.of(id).transcript.getJob(jobIds.transcript(id));
        if (job && WAITING.has(await job.getState())) continue;
        await ending.archive(id);
        archived++;
      }
    }
    // Finished runs: into the archive once quiet and all their conversations are (ending/archive-run.ts).
    let runsArchived = 0;
    if (deps.archive && deps.store.archiving) {
      const runs = new RunStore(deps.store.redis, deps.store.shards);
      const quietSince = Date.now() - (opts.runArchiveGraceMs ?? RUN_ARCHIVE_GRACE_MS);
      for (const runId of await runs.unarchived(quietSince, batch))
        if ((await archiveRun({ runs, store: deps.store, archive: deps.archive }, runId)) === 'archived') runsArchived++;
    }
    if (failedRecorded || requeued || archived) logger.warn({ failedRecorded, requeued, archived }, 'reconciler repaired conversations');
    return { failedRecorded, requeued, admitted, archived, runsArchived };
  }

  const timer =
    opts.intervalMs > 0
      ? setInterval(() => {
          if (running) return;
          running = true;
          sweepOnce()
            .catch((err) => logger.warn({ err: (err as Error).message }, 'reconciler sweep failed'))
            .finally(() => (running = false));
        }, opts.intervalMs)
      : undefined;
  timer?.unref();
  return { sweepOnce, stop: () => timer && clearInterval(timer) };
}
