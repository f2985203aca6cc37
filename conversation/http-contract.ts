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
  /** `costUsd`: by the price table; null when the model has no price (unknown, never guessed). */
  cloud: { model: string; inputTokens: number; outputTokens: number; latencyMs: number; stopReason: string; costUsd: number | null } | null;
  local: { model: string; inputTokens: number; outputTokens: number; latencyMs: number; stopReason: string; costUsd: number | null; thinking?: string; promptTruncated?: boolean } | null;
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
  /** USD by the price table; a sum is null when a step's model has no price (named in `unpricedModels`). */
  cost: { cloudUsd: number | null; localUsd: number | null; totalUsd: number | null; unpricedModels: string[] };
  /** The conversation's budget and what it has used (absent when it has none). */
  budget?: { usd?: number; tokens?: number; spentUsd: number; spentTokens: number; reservedUsd: number; reservedTokens: number };
  /** The judge's scores (absent until judged; `unscored` with `error` when no parseable answer came). */
  judge?: { status: 'scored' | 'unscored'; scores: Record<string, number> | null; model: string; attempts: number; error: string | null; at: string };
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
  /** USD by the price table; null when the model has no price. */
  costUsd?: number | null;
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

/** `POST /estimate`: the worst case of running the seeds (every turn, every reply `maxTokens` long). */
export interface EstimateView {
  conversations: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** USD; null when that side's model has no price (named in `unpricedModels`). */
  cloudUsd: number | null;
  localUsd: number | null;
  totalUsd: number | null;
  unpricedModels: string[];
  assumptions: { turns: number; maxTokens: number; cloudModel: string; localModel: string; contextTurns: number };
}
