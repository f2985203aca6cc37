/**
 * The HTTP contract: the JSON the producer answers and the data of its server-sent events, as the
 * CLI (and any other client) reads them. The producer builds these shapes; clients import only
 * this file, never the producer.
 */
import type { Side } from '../conversation/model';

/** One turn in `GET /conversation/:id`. */
export interface TurnView {
  turn: number;
  timestamp: string;
  question: string;
  cloudResponse: string | null;
  ollamaResponse: string | null;
  processingTimeMs: number | null;
  /** True on a fork's turns before its branch point: copied from the parent, asked and billed there. */
  shared?: true;
  /**
   * `costUsd`: by the price table; null when the model has no price (unknown, never guessed).
   * `requestedModel`: present when a fallback answered (`model`), naming the model asked first.
   * `truncated`: present (true) when the reply was cut at its token cap or context window.
   * `reasoningTokens`: output tokens the cloud model spent reasoning (`reasoningTokensEstimated`
   * when estimated); `omittedParameters`: what the Lambda left out because the model rejects it.
   * `cacheReadInputTokens` / `cacheWriteInputTokens`: input tokens read from / written to
   * Bedrock's prompt cache (not in `inputTokens`; priced apart in `costUsd`), present when non-zero.
   */
  cloud: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    stopReason: string;
    costUsd: number | null;
    requestedModel?: string;
    truncated?: boolean;
    reasoningTokens?: number;
    reasoningTokensEstimated?: boolean;
    omittedParameters?: string[];
    cacheReadInputTokens?: number;
    cacheWriteInputTokens?: number;
  } | null;
  local: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    stopReason: string;
    costUsd: number | null;
    thinking?: string;
    promptTruncated?: boolean;
    truncated?: boolean;
    /** The judge role's goal verdict after this follow-up (`stop.goalMet`). */
    goal?: { met: boolean; reason?: string; model: string };
    /**
     * Ollama's `prompt_eval_duration` in ms: the time of the prompt tokens past the KV-cache
     * prefix Ollama reused (`inputTokens` is the whole prompt either way); absent when not given.
     */
    promptEvalMs?: number;
  } | null;
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
  /** Who asked (the local side), as given; absent without one (docs/personas.md). */
  persona?: string | { role?: string; expertise?: string; style?: string; language?: string };
  /** What the asker wanted; absent without one. */
  goal?: string;
  /** The earlier conversation of its run this one near-duplicates (MinHash, DEDUP_THRESHOLD); absent when none. */
  nearDuplicateOf?: { id: string; similarity: number };
  /**
   * Which earlier exchanges each model sees: `sliding` (the last `turns`) or `blocks` (the whole
   * history up to `tokens`, then `turns` dropped at once), and why (the request's defaults, docs/cost-and-quality.md).
   */
  context: { policy: 'sliding' | 'blocks'; turns: number; tokens?: number; reason: string };
  turns: TurnView[];
  /** A fork's parent and branch point (POST /conversation/:id/fork); absent for other conversations. */
  fork?: { parentId: string; atTurn: number; runId?: string };
  /** Its forks, each with the turn it asks again (absent when it has none). */
  forks?: { conversationId: string; atTurn: number }[];
  /** The conversation's own steps (a fork's shared turns are its parent's, counted there). */
  totals: {
    cloudInputTokens: number;
    cloudOutputTokens: number;
    localInputTokens: number;
    localOutputTokens: number;
    cloudLatencyMs: number;
    localLatencyMs: number;
    /** Cloud input tokens read from / written to Bedrock's prompt cache (not in `cloudInputTokens`). */
    cloudCacheReadInputTokens: number;
    cloudCacheWriteInputTokens: number;
    /** The sum of the local steps' `promptEvalMs` (0 when none gave one). */
    localPromptEvalMs: number;
  };
  /** USD by the price table, of its own steps; a sum is null when a step's model has no price (named in `unpricedModels`). */
  cost: { cloudUsd: number | null; localUsd: number | null; totalUsd: number | null; unpricedModels: string[] };
  /** The conversation's budget and what it has used (absent when it has none). */
  budget?: { usd?: number; tokens?: number; spentUsd: number; spentTokens: number; reservedUsd: number; reservedTokens: number };
  /** The judge's scores (absent until judged; `unscored` with `error` when no parseable answer came). */
  judge?: {
    status: 'scored' | 'unscored';
    scores: Record<string, number> | null;
    model: string;
    attempts: number;
    error: string | null;
    at: string;
  };
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

/** `POST /conversation` without `?wait` (202). */
export interface ConversationSubmitResult {
  conversationId: string;
  status: string;
  statusUrl: string;
  transcriptUrl: string;
  /** The transcript's file name inside OUTPUT_DIR (a path sent as `outputFile` keeps only its name). */
  outputFile?: string;
  /**
   * Accepted, but: a cloud model is Legacy in AWS_REGION (model catalogue), or `outputFile` was
   * not used as sent (a path reduced to its name in OUTPUT_DIR). Absent when none.
   */
  warnings?: string[];
  /** A fork's parent and branch point (`POST /conversation/:id/fork`). */
  fork?: { parentId: string; atTurn: number };
}

/** `POST /runs` and `POST /runs/:id/seeds` (202). */
export interface RunSubmitResult {
  runId: string;
  /** True when this request created the run. */
  created: boolean;
  /** Seeds new to the run (now waiting or admitted). */
  accepted: number;
  /** Seeds the run already had (earlier in this upload or from an earlier one): skipped. */
  duplicates: number;
  /** Lines that could not be a seed; the first ones in `rejectedLines`, all in `GET /runs/:id`. */
  rejected: number;
  rejectedLines: { line: number; reason: string }[];
  /** With `retryFailed`: failed conversations put back in the backlog. */
  retried: number;
  /** With `dedup=true`: seeds rejected as near-duplicates of an earlier seed of the upload (counted in `rejected` too). */
  nearDuplicates?: number;
  /**
   * New seeds not added because a cap was reached (RUN_MAX_SEEDS, BACKLOG_MAX_SEEDS,
   * BACKLOG_MAX_BYTES): every seed from `refusedFromLine` on. What was added before stays.
   */
  refused: number;
  /** Why seeds were refused, naming the setting; null when none was. */
  refusedReason: string | null;
  /** The upload line of the first refused seed (send the rest from there); null when none was. */
  refusedFromLine: number | null;
  /** Accepted, but: a cloud model is Legacy in AWS_REGION (model catalogue). Absent when none. */
  warnings?: string[];
  /** With `newRun=true`: the run the upload named, whose settings differ; `runId` is the new run. */
  requestedRun?: string;
  /** With `requestedRun`: how the settings differ ("maxTurns: the run has 3, this upload names 5"). */
  settingsChanged?: string[];
  statusUrl: string;
  eventsUrl: string;
  exportUrl: string;
  pageUrl: string;
}

/** `GET /runs/:id`, each entry of `GET /runs`, and the data of a run's `progress` / `end` events. */
export interface RunView {
  runId: string;
  name: string;
  /**
   * `active` (admitting), `cancelled`, `finished` (nothing waiting or in flight), or
   * `budget_exhausted` (its budget could not cover a call: seeds still wait, none is admitted).
   */
  state: 'active' | 'cancelled' | 'finished' | 'budget_exhausted';
  /** The conversation settings the run was created with (every append uses them); null for a run from before runs kept them. */
  settings?: Record<string, unknown> | null;
  /** What the run's calls cost so far, USD (models without a price count 0; null for an old run). */
  costUsd: number | null;
  /** The run's own budget and what it has spent; `exhausted` says why it stopped admitting. */
  budget: { usd: number | null; tokens: number | null; spentUsd: number; spentTokens: number; exhausted: string | null } | null;
  /** The judge's summary: scored and unscored counts, per criterion the mean and the count per score. */
  judge: { scored: number; unscored: number; criteria: Record<string, { mean: number; distribution: Record<string, number> }> } | null;
  createdAt: string;
  updatedAt: string;
  maxActive: number;
  /** Seeds accepted into the run (after dedup). */
  seeds: number;
  duplicates: number;
  /** Finished conversations flagged near-duplicates of an earlier one of the run (left out by `filter=dedup`). */
  nearDuplicates: number;
  rejected: number;
  /** Seeds waiting in the backlog. */
  waiting: number;
  /** Conversations admitted so far, and of those still in flight. */
  admitted: number;
  active: number;
  /** Finished conversations, by terminal status and by stop reason. */
  finished: number;
  byStatus: Record<string, number>;
  byStopReason: Record<string, number>;
  /** Seeds dropped from the backlog by a cancel. */
  unadmitted: number;
  /** Failed or timed-out conversations put back in the backlog by `retryFailed`. */
  retried: number;
  /** Tokens of every recorded step (both models, input and output). */
  tokens: number;
  /** Finished conversations per second since the run was created. */
  throughputPerSecond: number;
  /** Seconds until the waiting and in-flight conversations finish at that rate; null when unknown. */
  etaSeconds: number | null;
  /** The first rejected lines (`GET /runs/:id` only). */
  rejectedLines?: { line: number; reason: string }[];
  statusUrl: string;
  eventsUrl: string;
  exportUrl: string;
  pageUrl: string;
}

/** `GET /runs/:id/conversations`: a page of the run's conversations in admission order. */
export interface RunConversationsPage {
  runId: string;
  start: number;
  conversations: {
    conversationId: string;
    status: string;
    stopReason: string | null;
    seedHash: string | null;
    /** Turns with both answers recorded. */
    turnsCompleted?: number;
    /** The opening question, its first 120 characters; null once the record expired. */
    initialQuery?: string | null;
    /** What its calls cost, USD, by the producer's price table; null when a model has no price. */
    costUsd?: number | null;
    statusUrl: string;
    /** The conversation's page for people. */
    pageUrl?: string;
  }[];
  /** The next page, when this one is full. */
  next?: string;
}

/** `POST /estimate`: the worst case of running the seeds (every turn, every reply `maxTokens` long). */
/** `DELETE /archive` (`llmconv prune`): what left the archive and the transcript dir. */
export interface PruneView {
  /** Conversations removed from the archive. */
  removed: number;
  /** Their transcript files removed from this producer's OUTPUT_DIR. */
  transcriptsRemoved: number;
  /** Transcript files not removed: outside this producer's OUTPUT_DIR (another host's) or already gone. */
  transcriptsLeft: number;
}

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
  /** The cloud model is Legacy in AWS_REGION (model catalogue). Absent when none. */
  warnings?: string[];
  assumptions: {
    turns: number;
    maxTokens: number;
    cloudModel: string;
    localModel: string;
    contextTurns: number;
    /** `off`, or how the worst case counts prompt caching (cost/estimate.ts). */
    cache: string;
  };
}
