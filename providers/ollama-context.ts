/**
 * How much context an Ollama call needs, which `num_ctx` to send for it, and how to tell afterwards
 * that Ollama cut the prompt. Pure functions; the provider (providers/ollama-provider.ts) asks the
 * server for the facts they read (providers/ollama-probe.ts).
 *
 * Why this matters: Ollama cuts a prompt longer than its context without an error (`truncate`
 * defaults to true): `server/prompt.go` `chatPrompt` drops the oldest messages, keeping the system
 * messages and the last one, and the runner cuts what still does not fit (ollama/ollama, read
 * 2026-12-02). The local prompt embeds the whole cloud answer plus the history, so by turn 3 a real
 * prompt can pass the default context (4096 on most hosts, see `smallestDefaultContext`).
 *
 * Changing `num_ctx` reloads the model (`server/sched.go` `needsReload` compares it with the
 * loaded runner's), so the provider keeps one size per model and only ever grows it, in powers of
 * two: a conversation does not reload the model on every turn.
 */

/** A message as sent to Ollama. */
export interface ContextMessage {
  content: string;
}

/**
 * A lower bound on the tokens of a text: a tokenizer gives at least one token per
 * whitespace-separated word. Used to tell that a prompt cannot have fit.
 */
export function minTokens(text: string): number {
  let n = 0;
  for (const w of text.split(/\s+/)) if (w) n++;
  return n;
}

/** Tokens a chat template adds around each message (role markers, separators): a generous guess. */
export const TEMPLATE_TOKENS_PER_MESSAGE = 8;

/**
 * A generous estimate of the prompt's tokens (Ollama has no tokenize endpoint): a third of its
 * UTF-8 bytes (English runs near 4-5 bytes a token, CJK near 3), never less than its word count,
 * plus the template's tokens per message. An estimate too small is caught: by `truncate: false`
 * where the server takes it, else by {@link promptWasCut}.
 */
export function estimatePromptTokens(messages: ContextMessage[]): number {
  let n = 0;
  for (const m of messages)
    n += Math.max(minTokens(m.content), Math.ceil(Buffer.byteLength(m.content, 'utf8') / 3)) + TEMPLATE_TOKENS_PER_MESSAGE;
  return n;
}

/** Room kept for the answer when the call gives no `num_predict` (Ollama then generates until it stops). */
export const DEFAULT_OUTPUT_RESERVE = 1024;

/** The context a call needs: its prompt and its answer (`num_predict`, else {@link DEFAULT_OUTPUT_RESERVE}). */
export function contextNeeded(messages: ContextMessage[], numPredict: number | undefined): number {
  return estimatePromptTokens(messages) + (numPredict !== undefined && numPredict > 0 ? numPredict : DEFAULT_OUTPUT_RESERVE);
}

/** The smallest power of two ≥ n (and ≥ 2048, the smallest default Ollama ever had). */
export function contextStep(n: number): number {
  let size = 2048;
  while (size < n) size *= 2;
  return size;
}

/** What {@link chooseNumCtx} reads. */
export interface ContextFacts {
  /** OLLAMA_NUM_CTX: the operator's own size, always sent as is. */
  explicit?: number;
  /** The model's trained context (`/api/show`); a larger num_ctx helps nothing. */
  modelMax?: number;
  /** The context the loaded model runs with (`/api/ps`), undefined when not loaded. */
  running?: number;
  /** The largest num_ctx this provider sent for the model so far. */
  sent?: number;
  /** The smallest default the server may use when none is sent (see `smallestDefaultContext`). */
  assumedDefault: number;
}

/**
 * The `num_ctx` to send for a call needing `need` tokens, or undefined to send none (the server's
 * own context is known or assumed to be large enough and nothing was sent before):
 * - OLLAMA_NUM_CTX when set;
 * - once the provider sent a size for the model, at least that size again (sending none would
 *   fall back to the default and reload the model), grown when `need` passes it;
 * - a size that fits `need` (a power of two, {@link contextStep}), never less than what runs now
 *   and never more than the model's trained context.
 */
export function chooseNumCtx(need: number, facts: ContextFacts): number | undefined {
  if (facts.explicit !== undefined) return facts.explicit;
  const base = Math.max(facts.running ?? 0, facts.sent ?? 0);
  if (facts.sent === undefined && need <= (facts.running ?? facts.assumedDefault)) return undefined;
  if (base >= need) return base;
  const size = Math.max(contextStep(need), base);
  return facts.modelMax !== undefined && facts.modelMax > 0 ? Math.min(size, Math.max(facts.modelMax, base)) : size;
}

/**
 * Whether Ollama cut the prompt, from what it says it evaluated: `prompt_eval_count` counts every
 * token of the prompt it ran, the cached prefix included (runner `numPromptInputs` = the inputs
 * after truncation, llama-server `cache_n + prompt_n`; so since ollama/ollama#5371, mid-2024: before
 * it a cached prompt could report fewer or none, an absent count is read as unknown), so fewer tokens
 * than the prompt has words means it dropped some. Or, with a known window, a prompt with more words than the window.
 */
export function promptWasCut(messages: ContextMessage[], promptEvalCount: number | undefined, window?: number): boolean {
  const atLeast = messages.reduce((n, m) => n + minTokens(m.content), 0);
  if (promptEvalCount !== undefined && promptEvalCount > 0 && promptEvalCount < atLeast) return true;
  return window !== undefined && atLeast > window;
}

/**
 * The 400s Ollama answers for `truncate: false` on a prompt longer than the context:
 * v0.12.6-v0.29 "the input length exceeds the context length" (runner `errorInputTooLong`);
 * from v0.30 (llama-server runner) llama-server's own body, relayed as the error text:
 * "request (N tokens) exceeds the available context size (M tokens), try increasing it" (read from
 * ollama/ollama `llm/llama_server.go` and its tests; the exact relayed text is less certain, so
 * both phrasings and Ollama's v0.30.9 "the prompt is longer than the context length" match).
 */
export const CONTEXT_EXCEEDED =
  /input length exceeds the context length|exceeds the available context size|prompt is longer than the context length/i;
