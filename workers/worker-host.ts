/**
 * Runs the BullMQ workers of the roles a process was given, with the lock and stall settings
 * that make a dead worker's job come back in seconds. The Workers' own `failed` events turn a
 * job's final failure (including "stalled more than allowable limit", which no processor sees)
 * into a `failed` conversation; the reconciler's sweep covers a host that died before recording.
 *
 * @example
 * const host = await startWorkerHost({ deps, connection, roles: ['cloud', 'local', 'transcript'] });
 * await host.close();
 */
import { bullmqTelemetry } from '../shared/tracing';
import { Worker, type ConnectionOptions, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerRole } from '../shared/config';
import { isTerminal } from '../conversation/model';
import { PipelineError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import {
  type JudgeJobData,
  type JudgeResult,
  QUEUE_NAMES,
  type TranscriptJobData,
  type TranscriptResult,
  type TurnJobData,
  type TurnStepResult,
} from '../queue/job-types';
import { checkEvictionPolicy } from '../shared/redis-connection';
import { createCloudProcessor } from './cloud-step';
import { createLocalProcessor } from './local-step';
import { startReconciler, type FailedJob, type Reconciler } from './reconciler';
import type { PipelineDeps } from './step-lifecycle';
import { ConversationEnding } from '../ending/end-conversation';
import { createTranscriptProcessor } from './transcript-step';
import { createJudgeProcessor } from './judge-step';
import { JudgeStore } from '../store/judge-store';

export interface WorkerHostOptions {
  deps: PipelineDeps;
  /** A worker-style connection (maxRetriesPerRequest: null); BullMQ duplicates it as needed. */
  connection: Redis;
  roles: WorkerRole[];
  /** Refuse to start when maxmemory-policy is not noeviction. Default true. */
  checkRedisPolicy?: boolean;
  /** Worker name shown in Bull Board (e.g. the host name). */
  name?: string;
  /** Each Worker's 'error' (e.g. Redis unreachable); default one error line each. */
  onError?(err: Error, role: WorkerRole): void;
}

/** The pipeline's BullMQ workers, each typed by its queue's job data, result and name. */
export type PipelineWorker =
  | Worker<TurnJobData, TurnStepResult, 'cloud'>
  | Worker<TurnJobData, TurnStepResult, 'local'>
  | Worker<TranscriptJobData, TranscriptResult, 'transcript'>
  | Worker<JudgeJobData, JudgeResult, 'judge'>;

export interface WorkerHost {
  workers: PipelineWorker[];
  reconciler: Reconciler;
  close(timeoutMs?: number): Promise<void>;
}

/** Shard `k`'s part of `total` over `n` shards: the remainder to the first ones, at least 1 each. */
export function shareOf(total: number, k: number, n: number): number {
  return Math.max(1, Math.floor(total / n) + (k < total % n ? 1 : 0));
}

/** Enough jobs per window never to bind: the limiter is there only so the throttling pause is honoured. */
const UNBOUNDED_MAX = 1_000_000_000;

/**
 * The cloud worker's limiter: CLOUD_RATE_LIMIT_MAX per window when set. Without it, but with
 * CLOUD_THROTTLE_BACKOFF_MS, an unbinding one — BullMQ only honours a `rateLimit()` pause set by
 * another worker when the fetching worker has a limiter `max`.
 */
function cloudLimiter(config: PipelineDeps['config'], shard: number, shards: number): { max: number; duration: number } | undefined {
  // Each shard's cloud queue has its own limiter key: the window's jobs are split over them.
  if (config.cloudRateLimitMax > 0)
    return { max: shareOf(config.cloudRateLimitMax, shard, shards), duration: config.cloudRateLimitDurationMs };
  if (config.cloudThrottleBackoffMs > 0) return { max: UNBOUNDED_MAX, duration: config.cloudRateLimitDurationMs };
  return undefined;
}

/**
 * Refuses a Redis that may evict keys (BullMQ needs `noeviction`), naming the policy and the fix;
 * warns loudly where the policy cannot be read. The first thing a worker process checks.
 */
export async function assertQueueSafeRedis(connection: Redis, logger: Logger): Promise<void> {
  const { ok, policy } = await checkEvictionPolicy(connection);
  if (policy === 'unknown') {
    logger.warn(
      'could not read Redis maxmemory-policy (CONFIG GET and INFO refused). It MUST be "noeviction" or queued jobs can be silently evicted.',
    );
  } else if (!ok) {
    throw new PipelineError(
      `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or jobs can be evicted and conversations lost. ` +
        'Fix: CONFIG SET maxmemory-policy noeviction (and persist it in redis.conf / the ElastiCache parameter group).',
      { code: 'redis_misconfigured' },
    );
  }
}

export async function startWorkerHost(opts: WorkerHostOptions): Promise<WorkerHost> {
  const { deps, connection, roles } = opts;
  const { config, logger } = deps;
  if (opts.checkRedisPolicy ?? true) await assertQueueSafeRedis(connection, logger);

  const conn = connection as unknown as ConnectionOptions;
  const workers: PipelineWorker[] = [];
  const ending = new ConversationEnding(deps);

  /** One role's BullMQ worker on one shard's queue, with the pipeline's lock, stall and failure handling. */
  function startWorker<D extends { conversationId: string }, R, N extends WorkerRole>(
    role: N,
    processor: Processor<D, R, N>,
    concurrency: number,
    shard: { index: number; prefix: string; of: number },
  ): Worker<D, R, N> {
    const worker = new Worker<D, R, N>(QUEUE_NAMES[role], processor, {
      connection: conn,
      prefix: shard.prefix,
      concurrency,
      name: opts.name,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: config.maxStalledCount,
      limiter: role === 'cloud' ? cloudLimiter(config, shard.index, shard.of) : undefined,
      // A `process` span per job, a child of the `add` that queued it (bullmq-otel; off without tracing).
      telemetry: bullmqTelemetry(),
    });
    // A call must never outlive its job's lock: when renewal fails, abort the call.
    worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) worker.cancelJob(id, 'lock renewal failed');
      logger.warn({ role, jobIds: ids }, 'lock renewal failed; calls aborted');
    });
    worker.on('error', (err) => (opts.onError ? opts.onError(err, role) : logger.error({ role, err: err.message }, 'worker error')));
    worker.on('stalled', (jobId: string) => logger.warn({ role, jobId }, 'job stalled; re-queued'));
    // Every final failure passes through some host's Worker: a processor's error on the host that
    // ran it, and a job that stalled too often on the host that next picks it up (BullMQ marks it
    // "stalled more than allowable limit" and fails it there, before any processor runs). It is
    // recorded here at once; if this host dies first, the reconciler's sweep records it.
    worker.on('failed', (job, err) => {
      if (job?.id)
        recordFinalFailure({ role, jobId: job.id, conversationId: job.data.conversationId, failedReason: job.failedReason || err.message });
    });
    return worker;
  }

  // One Worker per role and shard (REDIS_SHARDS): a role's concurrency is this process's, split
  // over the shards (each at least 1), so N shards never multiply what a host takes on.
  const shards = deps.queues.shards;
  for (const role of roles) {
    const concurrency =
      role === 'cloud' ? config.cloudConcurrency : role === 'local' ? config.localConcurrency : config.transcriptConcurrency;
    const processor =
      role === 'cloud'
        ? createCloudProcessor(deps)
        : role === 'local'
          ? createLocalProcessor(deps)
          : role === 'judge'
            ? createJudgeProcessor(deps, new JudgeStore(connection, deps.store.shards))
            : createTranscriptProcessor(deps);
    for (const shard of shards)
      workers.push(
        startWorker(role, processor as Processor, shareOf(concurrency, shard.index, shards.length), {
          ...shard,
          of: shards.length,
        }) as PipelineWorker,
      );
  }

  function recordFinalFailure(failure: FailedJob): void {
    void onFinalFailure(failure).catch((err) =>
      logger.error(
        { role: failure.role, jobId: failure.jobId, err: (err as Error).message },
        'could not record a failed job on its conversation',
      ),
    );
  }

  async function onFinalFailure({ role, jobId, conversationId, failedReason }: FailedJob): Promise<void> {
    const state = await deps.queues.of(conversationId)[role].getJobState(jobId);
    if (state !== 'failed') return;
    const record = await deps.store.get(conversationId);
    if (!record || isTerminal(record.status)) return;
    const reason = /stalled more than allowable limit|started more than allowable limit/.test(failedReason) ? 'stalled' : 'internal_error';
    await ending.end(conversationId, { cause: 'failed', reason, error: `${role} step failed: ${failedReason}` }, { record });
  }

  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  } catch (err) {
    // Do not leave half-started workers polling Redis behind a failed start.
    await Promise.allSettled(workers.map((w) => w.close(true)));
    throw err;
  }
  const reconciler = startReconciler({ deps, onFailedJob: onFinalFailure, intervalMs: config.reconcileIntervalMs, logger });
  logger.info(
    {
      roles,
      prefix: config.queuePrefix,
      shards: shards.length,
      lockDurationMs: config.lockDurationMs,
      stalledIntervalMs: config.stalledIntervalMs,
    },
    'workers started',
  );

  return {
    workers,
    reconciler,
    async close(timeoutMs = 10_000) {
      reconciler.stop();
      // worker.close() waits for active jobs; it can hang while Redis is down, so bound it.
      const closing = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        logger.warn({ timeoutMs }, 'workers did not close in time; forcing');
        // Abort the calls still running so their jobs fail back to the queue now, not at lock expiry.
        for (const w of workers) w.cancelAllJobs('worker shutting down');
        await Promise.allSettled(workers.map((w) => w.close(true)));
      }
    },
  };
}
