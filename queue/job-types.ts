/**
 * Queue names, typed job payloads and deterministic job ids. A step's job id is derived from the
 * conversation id and turn, so a re-run or a duplicate add never creates a second successor.
 * Ids never contain ':' and are never all digits (BullMQ's rules for custom ids).
 */
import type { JobsOptions } from 'bullmq';
import type { EmptyAnswerReason, QualityStopReason } from '../conversation/model';

export const QUEUE_NAMES = {
  cloud: 'cloud',
  local: 'local',
  transcript: 'transcript',
  judge: 'judge',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Payload of a cloud or local step: everything else is read from the conversation store. */
export interface TurnJobData {
  conversationId: string;
  turn: number;
}

export interface TranscriptJobData {
  conversationId: string;
}

/** Payload of the judge step: the finished conversation to score. */
export interface JudgeJobData {
  conversationId: string;
}

/** What the judge job returns: scored, unscored, or skipped (unknown conversation, no rubric). */
export type JudgeResult = 'scored' | 'unscored' | 'skipped';

/** What a turn step's job returns (shown in Bull Board): how the step ended. */
export type TurnStepResult = 'ok' | 'skipped' | 'ended' | 'max_turns' | 'stop_phrase' | 'goal_met' | EmptyAnswerReason | QualityStopReason;

/** What the transcript job returns: the file written, or 'skipped' for an unknown conversation. */
export type TranscriptResult = string;

export const jobIds = {
  cloud: (conversationId: string, turn: number) => `${conversationId}-cloud-${turn}`,
  local: (conversationId: string, turn: number) => `${conversationId}-local-${turn}`,
  transcript: (conversationId: string) => `${conversationId}-transcript`,
  judge: (conversationId: string) => `${conversationId}-judge`,
};

/** Finished jobs kept per queue and state when no `history` is given (JOB_HISTORY's default). */
export const DEFAULT_JOB_HISTORY = 1000;

/**
 * Job options shared by all steps: retries with exponential backoff and jitter, and a bounded
 * history: the newest `history` completed and failed jobs, none older than `retentionSeconds`,
 * so Bull Board shows what ran (a finished step's effect lives in the conversation store).
 */
export function stepJobOptions(opts: {
  attempts: number;
  backoffDelayMs: number;
  retentionSeconds: number;
  history?: number;
}): JobsOptions {
  const keep = { count: opts.history ?? DEFAULT_JOB_HISTORY, age: opts.retentionSeconds };
  return {
    attempts: opts.attempts,
    backoff: { type: 'exponential', delay: opts.backoffDelayMs, jitter: 0.5 },
    removeOnComplete: keep.count === 0 ? true : keep,
    removeOnFail: keep.count === 0 ? { age: opts.retentionSeconds } : keep,
  };
}
