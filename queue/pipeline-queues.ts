/**
 * The four BullMQ queues of the pipeline (cloud, local, transcript, judge) and the only place jobs are added, always with their
 * deterministic ids so a duplicate add is a no-op.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Side } from '../conversation/model';
import type { Config } from '../shared/config';
import { bullmqTelemetry, withTurnTrace } from '../shared/tracing';
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
  prefix: string;
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

export class PipelineQueues {
  readonly cloud: Queue<TurnJobData, TurnStepResult, 'cloud'>;
  readonly local: Queue<TurnJobData, TurnStepResult, 'local'>;
  readonly transcript: Queue<TranscriptJobData, TranscriptResult, 'transcript'>;
  readonly judge: Queue<JudgeJobData, JudgeResult, 'judge'>;
  private readonly jobOpts;

  /** The queues for the prefix, attempts, backoff and retention of a loaded config. */
  static fromConfig(
    connection: Redis | ConnectionOptions,
    config: Pick<Config, 'queuePrefix' | 'jobAttempts' | 'backoffDelayMs' | 'retentionSeconds'> & Partial<Pick<Config, 'jobHistory'>>,
  ): PipelineQueues {
    return new PipelineQueues(connection, {
      prefix: config.queuePrefix,
      attempts: config.jobAttempts,
      backoffDelayMs: config.backoffDelayMs,
      retentionSeconds: config.retentionSeconds,
      history: config.jobHistory,
    });
  }

  constructor(connection: Redis | ConnectionOptions, opts: PipelineQueuesOptions) {
    // bullmq-otel's spans and context propagation through job data when tracing is on (shared/tracing.ts).
    const base = { connection: connection as ConnectionOptions, prefix: opts.prefix, telemetry: bullmqTelemetry() };
    this.cloud = new Queue<TurnJobData, TurnStepResult, 'cloud'>(QUEUE_NAMES.cloud, base);
    this.local = new Queue<TurnJobData, TurnStepResult, 'local'>(QUEUE_NAMES.local, base);
    this.transcript = new Queue<TranscriptJobData, TranscriptResult, 'transcript'>(QUEUE_NAMES.transcript, base);
    this.judge = new Queue<JudgeJobData, JudgeResult, 'judge'>(QUEUE_NAMES.judge, base);
    const onError = opts.onError ?? (() => undefined);
    for (const q of this.all) q.on('error', (err: Error) => onError(err, q.name));
    this.jobOpts = stepJobOptions(opts);
  }

  get all(): Queue[] {
    return [this.cloud, this.local, this.transcript, this.judge] as Queue[];
  }

  async enqueueCloud(conversationId: string, turn: number): Promise<void> {
    // Each turn after the first is its own trace, linked to the step that queued it.
    await withTurnTrace(conversationId, turn, () =>
      this.cloud.add('cloud', { conversationId, turn }, { ...this.jobOpts, jobId: jobIds.cloud(conversationId, turn) }),
    );
  }

  async enqueueLocal(conversationId: string, turn: number): Promise<void> {
    await this.local.add('local', { conversationId, turn }, { ...this.jobOpts, jobId: jobIds.local(conversationId, turn) });
  }

  /** The step of `side` for `turn`. */
  async enqueueStep(side: Side, conversationId: string, turn: number): Promise<void> {
    await (side === 'cloud' ? this.enqueueCloud(conversationId, turn) : this.enqueueLocal(conversationId, turn));
  }

  async enqueueTranscript(conversationId: string): Promise<void> {
    await this.transcript.add('transcript', { conversationId }, { ...this.jobOpts, jobId: jobIds.transcript(conversationId) });
  }

  /** The judge step of a finished conversation (its own retries are inside the step: one attempt here). */
  async enqueueJudge(conversationId: string): Promise<void> {
    await this.judge.add('judge', { conversationId }, { ...this.jobOpts, attempts: 1, jobId: jobIds.judge(conversationId) });
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close()));
  }
}
