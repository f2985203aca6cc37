/**
 * The conversation domain model: a conversation's settings, record and status, the steps of each
 * turn, why it stopped, and the events its changes publish. Plain types with no I/O: the store
 * (Redis), the steps, the producer and the CLI all speak these.
 */

/**
 * A role in a conversation: the cloud model answers, the local model follows up. Which backend
 * plays a role is configuration (`CloudBackend`, `LocalBackend` in shared/config.ts: CLOUD, LOCAL).
 */
export type Side = 'cloud' | 'local';

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'timed_out'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type ConversationStatus = 'queued' | 'running' | TerminalStatus;

export const isTerminal = (s: string | undefined): s is TerminalStatus => (TERMINAL_STATUSES as readonly string[]).includes(s ?? '');

/** Why a conversation stopped (machine-readable). */
export type StopReason =
  | 'max_turns'
  | 'stop_phrase'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'provider_error'
  | 'retries_exhausted'
  | 'stalled'
  | 'internal_error'
  | 'budget_exhausted'
  /** A turn's prompt (a template filled with the previous replies) is over PROMPT_MAX_CHARS. */
  | 'prompt_too_long'
  /** The judge role found the conversation's `goal` met (`stop.goalMet`, conversation/goal-rules.ts). */
  | 'goal_met'
  | QualityStopReason
  | EmptyAnswerReason;

/** The quality gates' stop reasons (conversation/quality-rules.ts). */
export type QualityStopReason = 'repetition' | 'degenerate' | 'max_tokens_total' | 'truncated';

/** A spending cap: USD (priced by the price table) and/or tokens (input + output, both sides). */
export interface Budget {
  usd?: number;
  tokens?: number;
}

/** The quality gates of a conversation; each is off unless given (conversation/quality-rules.ts). */
export interface QualitySettings {
  /** Stop when a reply's word 3-gram Jaccard similarity to an earlier reply of its side, or to its prompt, is ≥ threshold. */
  repetition?: { threshold: number };
  /** Stop on an empty reply, a refusal (the default list, or the given phrases), or a reply that is only the template. */
  degenerate?: boolean | { refusals: string[] };
  /** Stop once the conversation's input + output tokens reach this. */
  maxTokensTotal?: number;
  /**
   * A reply cut at its token cap or context window (`truncated` on its step): `stop` ends the
   * conversation with stop reason `truncated`; `continue` (the default, also when absent) goes on.
   */
  truncated?: 'stop' | 'continue';
}

/**
 * Why a model answered without usable text (HTTP 200, nothing to send back as history): Converse's
 * own stop reason when it names one (`content_filtered`, `guardrail_intervened`,
 * `malformed_model_output`, `malformed_tool_use`), else `empty_answer`. The conversation then
 * completes with this reason and its transcript so far.
 */
export type EmptyAnswerReason =
  | 'content_filtered'
  | 'guardrail_intervened'
  | 'malformed_model_output'
  | 'malformed_tool_use'
  | 'empty_answer';

/** The validated settings of one conversation (defaults already applied). */
/**
 * A conversation's place in a run and its seed's provenance: the run id, the hash of the
 * normalised seed plus its settings (the conversation id derives from both), and the seed's own
 * `meta` as uploaded.
 */
export interface RunRef {
  id: string;
  seedHash: string;
  meta?: Record<string, unknown>;
}

/**
 * Where a fork branched off (`POST /conversation/:id/fork`): its parent and the turn it re-asks.
 * Turns 1..atTurn-1 were copied from the parent (asked and billed there, never here).
 */
export interface ForkRef {
  parentId: string;
  atTurn: number;
  /** The run of the parent (or of its own parent): the fork spends under that run's budget, never in its counts. */
  runId?: string;
}

/**
 * Who the local side (the asker) is: a description, or its parts (role, expertise, style,
 * language). Rendered as `{{persona}}` by conversation/goal-rules.ts `personaText`.
 */
export type Persona = string | { role?: string; expertise?: string; style?: string; language?: string };

/** When the judge role is asked whether the goal is met (conversation/goal-rules.ts). */
export interface GoalMetCheck {
  /** After the local follow-up of every k-th turn (1: every turn). */
  every: number;
  /** The side whose provider answers the verdict (default: the judge's, cloud). */
  side: Side;
  /** The model that answers (default: the side's model of the conversation). */
  model?: string;
}

export interface ConversationSettings {
  initialQuery: string;
  outputFile: string;
  maxTurns: number;
  timeoutMinutes: number;
  cloudModel: string;
  /** Cloud models tried in order after `cloudModel` keeps throttling (absent: none). */
  cloudFallbacks?: string[];
  localModel: string;
  temperature?: number;
  maxTokens?: number;
  stopPhrase?: string;
  contextTurns: number;
  /**
   * Which earlier exchanges each model sees (conversation/turn-rules.ts, {@link historyOf}):
   * `sliding` (absent): the last `contextTurns`; `blocks`: the whole history up to `contextTokens`,
   * then the oldest `contextTurns` turns dropped at once, so the prefix (and the prompt cache)
   * stays the same for many turns. The default where caching applies.
   */
  contextPolicy?: 'sliding' | 'blocks';
  /** The `blocks` policy's budget, in estimated tokens (UTF-8 bytes / 4) of the history. */
  contextTokens?: number;
  /**
   * Why the default context policy is what it is, where the other settings do not say it
   * (conversation-request.ts `contextPolicyOf`): `asked`, `turns`, `model`, `below:<system>+<history><<minimum>`; in words by `contextReason`.
   */
  contextWhy?: string;
  /** The local model may think before its follow-up (Ollama `think`); absent means off. */
  think?: boolean;
  /** `false`: no Bedrock prompt-cache checkpoints for this conversation; absent: on where the catalogue says caching lowers the cost. */
  cache?: false;
  templates: { followUp: string; nextQuery: string };
  systemPrompts: { cloud?: string; local?: string };
  /** The run this conversation belongs to (absent for a single `POST /conversation`). */
  run?: RunRef;
  /** The conversation's own budget (absent: none; a run's budget may still apply). */
  budget?: Budget;
  /** Quality gates (absent: none). */
  quality?: QualitySettings;
  /** Set on a fork: its parent and branch point (absent for every other conversation). */
  fork?: ForkRef;
  /** Once completed, the conversation forks itself this many times at `branchAt` (docs/branches.md); absent: none. */
  branches?: number;
  /** The turn its `branches` ask again (default: its last complete turn + 1, at most maxTurns). */
  branchAt?: number;
  /** Who the local side is (`{{persona}}` in its system prompt and follow-up template). */
  persona?: Persona;
  /** What the local side wants out of the conversation (`{{goal}}`). */
  goal?: string;
  /** Stops beside maxTurns and the stop phrase: `goalMet` asks the judge role after every k-th turn. */
  stop?: { goalMet?: GoalMetCheck };
}

export interface ConversationRecord {
  id: string;
  status: ConversationStatus;
  settings: ConversationSettings;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms after which the conversation is `timed_out`. */
  deadline: number;
  stopReason?: StopReason;
  error?: string;
  /** Set when the last step ended the chain normally; the conversation is completed once its transcript is written (ending/end-conversation.ts). */
  pendingStop?: StopReason;
  /** Where the transcript was written (absolute, on the host that wrote it). */
  transcriptPath?: string;
  finishedAt?: number;
  /** How the store laid the record out: 2 now, 1 for conversations started by the first releases. */
  format: 1 | 2;
  /** The API key id that created it (API_KEYS_FILE; docs/callers.md); absent: no owner, admins only. */
  owner?: string;
  /** Set when the finished conversation near-duplicates an earlier one of its run (MinHash, DEDUP_THRESHOLD). */
  nearDuplicateOf?: { id: string; similarity: number };
}

export interface CloudStep {
  question: string;
  answer: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  stopReason: string;
  startedAt: number;
  at: number;
  /** Set when a fallback model answered: the model asked first (the conversation's `cloudModel`). */
  requestedModel?: string;
  /** True when the answer is not whole (Converse `max_tokens` / `model_context_window_exceeded`). */
  truncated?: boolean;
  /** Output tokens spent reasoning (reasoning content blocks), when the answer had any. */
  reasoningTokens?: number;
  /** True when `reasoningTokens` is an estimate. */
  reasoningTokensEstimated?: boolean;
  /** Parameters the Lambda left out because the model rejects them (`temperature`, `top_p`, `system`). */
  omittedParameters?: string[];
  /** Input tokens read from Bedrock's prompt cache (Converse `cacheReadInputTokens`; not in `inputTokens`). */
  cacheReadInputTokens?: number;
  /** Input tokens written to it (Converse `cacheWriteInputTokens`; not in `inputTokens`). */
  cacheWriteInputTokens?: number;
}

export interface LocalStep {
  prompt: string;
  followUp: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  stopReason: string;
  at: number;
  /** The model's reasoning, when the conversation let it think (never part of `followUp`). */
  thinking?: string;
  /** Set when Ollama had to cut the prompt to its context window (OLLAMA_NUM_CTX). */
  promptTruncated?: boolean;
  /** True when the follow-up is not whole (Ollama `done_reason: "length"`, or the prompt did not fit). */
  truncated?: boolean;
  /** The judge role's verdict on the goal after this follow-up (`stop.goalMet`), recorded with the step. */
  goal?: GoalVerdict;
  /**
   * Ollama's `prompt_eval_duration` in ms (providers/llm-provider.ts `LlmReply.promptEvalMs`): the
   * time the prompt's tokens past the reused KV-cache prefix took; `inputTokens` is the whole prompt.
   */
  promptEvalMs?: number;
}

/** "Is the goal met?", answered by the judge role; `met` false also when the answer held no verdict (`reason` says so). */
export interface GoalVerdict {
  met: boolean;
  reason?: string;
  model: string;
}

/** The step record of a side: the cloud answer or the local follow-up. */
export type StepOf<S extends Side> = S extends 'cloud' ? CloudStep : LocalStep;

export interface TurnRecord {
  turn: number;
  cloud?: CloudStep;
  local?: LocalStep;
}

export type ConversationEvent =
  | { type: Side; conversationId: string; turn: number }
  | { type: 'status'; conversationId: string; status: ConversationStatus; stopReason?: StopReason; error?: string };

/** A record with the turns read alongside it. */
export interface ConversationWithTurns {
  record: ConversationRecord;
  turns: TurnRecord[];
}
