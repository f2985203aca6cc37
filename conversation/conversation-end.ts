/**
 * How a conversation ends, decided once for every cause (no I/O): the terminal status, the stop
 * reason and the error a cause means, and whether the transition waits for the transcript. The
 * ending (`ending/end-conversation.ts`) carries the decision out.
 *
 * A conversation whose chain stopped normally (nextAfter's stop, a budget refusal) is `completed`
 * with its transcript: the stop is noted on the record, the transcript step writes the file and
 * only then is it completed. Every other end (failed, cancelled, timed out) is a transition at
 * once, and the conversation still gets its partial transcript after it.
 */
import type { ConversationRecord, StopReason, TerminalStatus } from './model';

/** Why a step, the producer or a run ends a conversation. */
export type EndCause =
  /** The chain ended normally (max_turns, stop_phrase, an unusable answer, a quality gate, budget_exhausted); `note` says why on the record. */
  | { cause: 'stopped'; reason: StopReason; note?: string }
  /** A step failed for good (a permanent provider error, the last attempt, a stall, a prompt too long, a job's final failure). */
  | {
      cause: 'failed';
      reason: Extract<StopReason, 'provider_error' | 'retries_exhausted' | 'stalled' | 'internal_error' | 'prompt_too_long'>;
      error: string;
    }
  /** The conversation's deadline passed. */
  | { cause: 'timed_out'; error: string }
  /** A caller cancelled it (the conversation, or its run). */
  | { cause: 'cancelled'; error: string };

/** What a cause means for the record. */
export interface ConversationEnd {
  status: TerminalStatus;
  stopReason: StopReason;
  /** The record's `error` (for a normal stop: the note, if any). */
  error?: string;
  /** True: the transition waits for the transcript (a completed conversation is completed with its file). */
  afterTranscript: boolean;
}

/** The one decision of how a conversation ends. */
export function endFor(c: EndCause): ConversationEnd {
  switch (c.cause) {
    case 'stopped':
      return { status: 'completed', stopReason: c.reason, ...(c.note ? { error: c.note } : {}), afterTranscript: true };
    case 'failed':
      return { status: 'failed', stopReason: c.reason, error: c.error, afterTranscript: false };
    case 'timed_out':
      return { status: 'timed_out', stopReason: 'deadline_exceeded', error: c.error, afterTranscript: false };
    case 'cancelled':
      return { status: 'cancelled', stopReason: 'cancelled', error: c.error, afterTranscript: false };
  }
}

/** The reason a conversation still running when its transcript is written completes with: its noted stop, else max_turns. */
export function completionReason(record: Pick<ConversationRecord, 'pendingStop'>): StopReason {
  return record.pendingStop ?? 'max_turns';
}
