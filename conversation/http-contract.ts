/**
 * The HTTP contract: the JSON the producer answers and the data of its server-sent events, as the
 * CLI (and any other client) reads them. The producer builds these shapes; clients import only
 * this file, never the producer.
 */
import type { Side } from './model';

/** One turn in `GET /conversation/:id`. */
export interface TurnView {
  turn: number;
  timestamp: string;
  question: string;
  cloudResponse: string | null;
  ollamaResponse: string | null;
  processingTimeMs: number | null;
  /** `requestedModel`: present when a fallback answered (`model`), naming the model asked first. */
  cloud: { model: string; inputTokens: number; outputTokens: number; latencyMs: number; stopReason: string; requestedModel?: string } | null;
  local: { model: string; inputTokens: number; outputTokens: number; latencyMs: number; stopReason: string; thinking?: string; promptTruncated?: boolean } | null;
}

/** `GET /conversation/:id` (and the `end` event's `view`). */
export interface ConversationView {
  conversationId: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  deadline: string;
  maxTurns: number;
  turnsCompleted: number;
  cloudModel: string;
  localModel: string;
  outputFile: string;
  transcriptFile: string | null;
  turns: TurnView[];
  totals: { cloudInputTokens: number; cloudOutputTokens: number; localInputTokens: number; localOutputTokens: number; cloudLatencyMs: number; localLatencyMs: number };
}

/** One entry of `GET /conversations`. */
export interface ConversationSummary {
  conversationId: string;
  status: string;
  stopReason: string | null;
  createdAt: string;
  updatedAt: string;
  maxTurns: number;
  turnsCompleted: number;
  initialQuery: string;
  pageUrl: string;
}

/** Data of a `cloud` or `local` event. */
export interface StepEventData {
  conversationId: string;
  turn: number;
  side: Side;
  /** Cloud: the question put to the cloud model. */
  question?: string;
  /** Cloud: its answer. Local: the follow-up. */
  text: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  stopReason: string;
  at: string;
}

/** Data of the `end` event. */
export interface EndEventData {
  conversationId: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  transcriptUrl: string;
  view: ConversationView;
}
