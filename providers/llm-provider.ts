/**
 * The provider contract both sides of a conversation implement: the cloud client (API Gateway →
 * Lambda → Bedrock) and the Ollama provider. Workers depend on this interface only.
 */

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface LlmCall {
  /** The new user message. */
  prompt: string;
  /** Model id; empty/undefined: the provider's default. */
  model?: string;
  system?: string;
  /** Earlier messages, oldest first, alternating user/assistant. */
  history?: ChatTurn[];
  temperature?: number;
  maxTokens?: number;
  conversationId?: string;
  turn?: number;
  /** Aborts the call (deadline, cancel, lost lock). */
  signal?: AbortSignal;
  /** Per-call timeout in ms (the provider combines it with `signal`). */
  timeoutMs?: number;
  /** Let a thinking model reason before answering (Ollama `think`); default off. */
  think?: boolean;
  /** Models to try in order when `model` keeps throttling (the cloud side's fallbacks). */
  fallbackModels?: string[];
  /** The step's last attempt: a retryable error is final, so the fallbacks are tried first. */
  lastAttempt?: boolean;
  /**
   * Parameters to leave out per model id (`temperature`, `top_p`, `system`), learned fleet-wide
   * from earlier rejections (store/model-quirks.ts); the cloud client sends the entry of the model it asks.
   */
  learnedOmissions?: Record<string, string[]>;
  /** `false`: send no prompt-cache checkpoints (the conversation's `cache: false`); default on where the model caches. */
  cache?: boolean;
  /** Which history checkpoints a later call can read (bedrock/cache-points.ts HistoryCache); absent: all. */
  cacheHistory?: 'read' | 'none';
}

export interface LlmReply {
  text: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  stopReason: string;
  latencyMs: number;
  /** A thinking model's reasoning, kept apart from `text` (only when thinking was on). */
  thinking?: string;
  /**
   * True when the prompt did not fit the model's context window and was cut (Ollama); `truncated`
   * is then set too: this says which part of the exchange was cut.
   */
  promptTruncated?: boolean;
  /** Set when a fallback answered: the model the call asked for first. */
  requestedModel?: string;
  /**
   * True when the answer is not whole: the model stopped at its token cap (Converse `max_tokens`,
   * `model_context_window_exceeded`; Ollama `done_reason: "length"`) or the prompt did not fit the
   * local model's context. Recorded on the turn as `truncated`.
   */
  truncated?: boolean;
  /** Tokens the model spent reasoning (reasoning content blocks, Ollama `thinking`), when known. */
  reasoningTokens?: number;
  /** True when `reasoningTokens` is an estimate (Converse reports no separate count). */
  reasoningTokensEstimated?: boolean;
  /** Parameters left out of the call because the model rejects them (the cloud Lambda's report). */
  omittedParameters?: string[];
  /** Of those, the ones the model rejected in this very call: new facts about the model to keep. */
  rejectedParameters?: string[];
  /** Input tokens read from the prompt cache (Bedrock), not counted in `inputTokens`. */
  cacheReadInputTokens?: number;
  /** Input tokens written to the prompt cache (Bedrock), not counted in `inputTokens`. */
  cacheWriteInputTokens?: number;
  /**
   * Ollama's `prompt_eval_duration` in ms: the time spent evaluating the prompt tokens that were
   * not in the loaded model's KV cache. `inputTokens` (`prompt_eval_count`) counts the whole
   * prompt whether or not its prefix was reused, so this is the only sign of the reuse an answer
   * carries (ollama/ollama llm/llama_server.go, see providers/ollama-provider.ts).
   */
  promptEvalMs?: number;
}

/** Errors thrown are `ProviderError`s with `retryable` set (see shared/errors.ts). */
export interface LlmProvider {
  generate(call: LlmCall): Promise<LlmReply>;
}
