/**
 * The four BullMQ queues of the pipeline (cloud, local, transcript, judge) and the only place jobs are added, always with their
 * deterministic ids so a duplicate add is a no-op. With REDIS_SHARDS=N, one set of the four per shard,
 * each job on its conversation's shard (shared/redis-shards.ts).
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Side } from '../conversation/model';
import type { Config } from '../shared/config';
import { bullmqTelemetry, withTurnTrace } from '../shared/tracing';
import { ShardSet } from '../shared/redis-shards';
import {
  jobIds,
  type JudgeJobData,
  type JudgeResult,
  QUEUE_NAMES,
  stepJobOptions,
  type TranscriptJobData,
  type TranscriptResult,
  type TurnJobData,
  type TurnStepResult,
} from './job-types';

export interface PipelineQueuesOptions {
  /** QUEUE_PREFIX, or its shards (REDIS_SHARDS: one set of the four queues per shard). */
  prefix: string | ShardSet;
  attempts: number;
  backoffDelayMs: number;
  retentionSeconds: number;
  /** Completed and failed jobs kept per queue (JOB_HISTORY). Default 1000. */
  history?: number;
  /**
   * Called with each `error` a queue emits (its connection's errors while Redis is unreachable).
   * Default: ignored — the connection's owner logs them and every failed call throws to its caller.
   * Without a listener BullMQ would print each one as a raw stack trace on stderr.
   */
  onError?: (err: Error, queue: string) => void;
}

/** The four queues of one shard. */
export interface ShardQueues {
  /** The shard's index and key prefix (`{llmconv-k}`; one shard: QUEUE_PREFIX). */
  index: number;
  prefix: string;
  cloud: Queue<TurnJobData, TurnStepResult, 'cloud'>;
  local: Queue<TurnJobData, TurnStepResult, 'local'>;
  transcript: Queue<TranscriptJobData, TranscriptResult, 'transcript'>;
  judge: Queue<JudgeJobData, JudgeResult, 'judge'>;
}

export class PipelineQueues {
  /** The shards' queues; one shard (the default): one set, under QUEUE_PREFIX. */
  readonly shards: readonly ShardQueues[];
  readonly shardSet: ShardSet;
  /** Shard 0's queues (with one shard, the queues). */
  readonly cloud: Queue<TurnJobData, TurnStepResult, 'cloud'>;
  readonly local: Queue<TurnJobData, TurnStepResult, 'local'>;
  readonly transcript: Queue<TranscriptJobData, TranscriptResult, 'transcript'>;
  readonly judge: Queue<JudgeJobData, JudgeResult, 'judge'>;
  private readonly jobOpts;

  /** The queues for the prefix (and shards), attempts, backoff and retention of a loaded config. */
  static fromConfig(
    connection: Redis | ConnectionOptions,
    config: Pick<Config, 'queuePrefix' | 'jobAttempts' | 'backoffDelayMs' | 'retentionSeconds'> &
      Partial<Pick<Config, 'jobHistory' | 'redisShards'>>,
  ): PipelineQueues {
    return new PipelineQueues(connection, {
      prefix: ShardSet.fromConfig(config),
      attempts: config.jobAttempts,
      backoffDelayMs: config.backoffDelayMs,
      retentionSeconds: config.retentionSeconds,
      history: config.jobHistory,
    });
  }

  constructor(connection: Redis | ConnectionOptions, opts: PipelineQueuesOptions) {
    this.shardSet = ShardSet.of(opts.prefix);
    // bullmq-otel's spans and context propagation through job data when tracing is on (shared/tracing.ts).
    const telemetry = bullmqTelemetry();
    this.shards = this.shardSet.prefixes.map((prefix, index) => {
      const base = { connection: connection as ConnectionOptions, prefix, telemetry };
      return {
        index,
        prefix,
        cloud: new Queue<TurnJobData, TurnStepResult, 'cloud'>(QUEUE_NAMES.cloud, base),
        local: new Queue<TurnJobData, TurnStepResult, 'local'>(QUEUE_NAMES.local, base),
        transcript: new Queue<TranscriptJobData, TranscriptResult, 'transcript'>(QUEUE_NAMES.transcript, base),
        judge: new Queue<JudgeJobData, JudgeResult, 'judge'>(QUEUE_NAMES.judge, base),
      };
    });
    const first = this.shards[0]!;
    this.cloud = first.cloud;
    this.local = first.local;
    this.transcript = first.transcript;
    this.judge = first.judge;
    const onError = opts.onError ?? (() => undefined);
    for (const q of this.all) q.on('error', (err: Error) => onError(err, q.name));
    this.jobOpts = stepJobOptions(opts);
  }

  /** Every queue of every shard. */
  get all(): Queue[] {
    return this.shards.flatMap((s) => [s.cloud, s.local, s.transcript, s.judge] as Queue[]);
  }

  /** The queues of conversation `conversationId`'s shard (where its jobs go). */
  of(conversationId: string): ShardQueues {
    return this.shards[this.shardSet.shardOf(conversationId)]!;
  }

  /** Every shard's queue of `role`. */
  allOf<R extends keyof Omit<ShardQueues, 'index' | 'prefix'>>(role: R): ShardQueues[R][] {
    return this.shards.map((s) => s[role]);
  }

  /** A Bedrock throttle pauses every shard's cloud queue (BullMQ's `rateLimit`, honoured by workers with a limiter). */
  async rateLimitCloud(ms: number): Promise<void> {
    await Promise.all(this.shards.map((s) => s.cloud.rateLimit(ms)));
  }

  async enqueueCloud(conversationId: string, turn: number): Promise<void> {
    // Each turn after the first is its own trace, linked to the step that queued it.
    await withTurnTrace(conversationId, turn, () =>
      this.of(conversationId).cloud.add('cloud', { conversationId, turn }, { ...this.jobOpts, jobId: jobIds.cloud(conversationId, turn) }),
    );
  }

  async enqueueLocal(conversationId: string, turn: number): Promise<void> {
    await this.of(conversationId).local.add(
      'local',
      { conversationId, turn },
      { ...this.jobOpts, jobId: jobIds.local(conversationId, turn) },
    );
  }

  /** The step of `side` for `turn`. */
  async enqueueStep(side: Side, conversationId: string, turn: number): Promise<void> {
    await (side === 'cloud' ? this.enqueueCloud(conversationId, turn) : this.enqueueLocal(conversationId, turn));
  }

  async enqueueTranscript(conversationId: string): Promise<void> {
    await this.of(conversationId).transcript.add(
      'transcript',
      { conversationId },
      { ...this.jobOpts, jobId: jobIds.transcript(conversationId) },
    );
  }

  /** The judge step of a finished conversation (its own retries are inside the step: one attempt here). */
  async enqueueJudge(conversationId: string): Promise<void> {
    await this.of(conversationId).judge.add(
      'judge',
      { conversationId },
      { ...this.jobOpts, attempts: 1, jobId: jobIds.judge(conversationId) },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close()));
  }
}
