/**
 * Checks a decoded `LlmRequest` before anything reaches Bedrock, naming the offending field in a
 * {@link ValidationError} (answered with 400).
 */
import type { LlmRequest } from '../proto/codec';
import { ValidationError } from '../shared/errors';
import { LIMITS } from '../shared/limits';
import type { ConverseTurn } from '../bedrock/bedrock-client';

/** Limits applied by {@link validateLlmRequest}. */
export const REQUEST_LIMITS = {
  /** Longest `input_text`, in characters. */
  maxInputChars: 100_000,
  /** Longest single history message or system prompt, in characters. */
  maxMessageChars: 100_000,
  /** Most history messages. */
  maxHistoryMessages: 1_000,
  /**
   * Range of `parameters.max_tokens` for any model; the model's own (lower) cap from
   * shared/model-limits is checked where the model id is known (bedrock-client).
   */
  maxTokens: LIMITS.maxTokens,
  /** Range of `parameters.temperature` and `parameters.top_p`. */
  temperature: LIMITS.temperature,
  /** Most `omit_parameters` entries. */
  maxOmitParameters: 8,
} as const;

/** A request that passed validation, ready for the Converse call. */
export interface ValidatedRequest {
  prompt: string;
  history: ConverseTurn[];
  system?: string;
  modelId?: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Parameters to leave out (`temperature`, `top_p`, `system`); others are ignored. */
  omitParameters?: string[];
  /** False: no prompt-cache checkpoints (LlmRequest.no_cache). */
  cache?: boolean;
  /** Which history checkpoints a later call can read (LlmRequest.cache_history); absent: all. */
  cacheHistory?: 'read' | 'none';
  conversationId?: string;
  turn?: number;
}

const MODEL_ID = /^[A-Za-z0-9._:/+-]{1,2048}$/;

const invalid = (field: string, message: string) => new ValidationError(`${field} ${message}`, { field });

function parseTemperature(raw: string | undefined, field = 'parameters.temperature'): number | undefined {
  if (raw === undefined) return undefined;
  const { min, max } = REQUEST_LIMITS.temperature;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw invalid(field, `must be a number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseMaxTokens(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const { min, max } = REQUEST_LIMITS.maxTokens;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid('parameters.max_tokens', `must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Validates and normalises a decoded request. Unknown `parameters` keys are ignored (a seed
 * client may send others); empty optional strings mean "not set".
 */
export function validateLlmRequest(req: LlmRequest): ValidatedRequest {
  const prompt = req.inputText ?? '';
  if (prompt.trim() === '') throw invalid('input_text', 'must not be empty');
  if (prompt.length > REQUEST_LIMITS.maxInputChars) {
    throw invalid('input_text', `must be at most ${REQUEST_LIMITS.maxInputChars} characters, got ${prompt.length}`);
  }
  const params = req.parameters ?? {};
  const temperature = parseTemperature(params.temperature);
  const topP = parseTemperature(params.top_p, 'parameters.top_p');
  const omit = req.omitParameters ?? [];
  if (omit.length > REQUEST_LIMITS.maxOmitParameters)
    throw invalid('omit_parameters', `must have at most ${REQUEST_LIMITS.maxOmitParameters} entries`);
  const maxTokens = parseMaxTokens(params.max_tokens);

  const rawHistory = req.history ?? [];
  if (rawHistory.length > REQUEST_LIMITS.maxHistoryMessages) {
    throw invalid('history', `must have at most ${REQUEST_LIMITS.maxHistoryMessages} messages, got ${rawHistory.length}`);
  }
  const history = rawHistory.map((m, i): ConverseTurn => {
    const role = m.role as string | undefined;
    if (role !== 'user' && role !== 'assistant') {
      throw invalid(`history[${i}].role`, `must be "user" or "assistant", got ${JSON.stringify(role ?? '')}`);
    }
    const content = m.content ?? '';
    if (content.trim() === '') throw invalid(`history[${i}].content`, 'must not be empty');
    if (content.length > REQUEST_LIMITS.maxMessageChars) {
      throw invalid(`history[${i}].content`, `must be at most ${REQUEST_LIMITS.maxMessageChars} characters`);
    }
    return { role, content };
  });
  // Converse wants user first and strict alternation, ending with assistant before our prompt.
  history.forEach((m, i) => {
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== expected) throw invalid(`history[${i}].role`, `must be "${expected}" (messages alternate, starting with user)`);
  });
  if (history.length % 2 !== 0) throw invalid('history', 'must end with an assistant message (input_text is the next user message)');

  const system = req.systemPrompt || undefined;
  if (system !== undefined && system.length > REQUEST_LIMITS.maxMessageChars) {
    throw invalid('system_prompt', `must be at most ${REQUEST_LIMITS.maxMessageChars} characters`);
  }
  const modelId = req.modelId || undefined;
  if (modelId !== undefined && !MODEL_ID.test(modelId)) {
    throw invalid('model_id', 'must be a Bedrock model id, inference profile id or ARN');
  }
  const cacheHistory = req.cacheHistory || 'all';
  if (cacheHistory !== 'all' && cacheHistory !== 'read' && cacheHistory !== 'none') {
    throw invalid('cache_history', 'must be "all", "read" or "none" (or empty)');
  }
  return {
    prompt,
    history,
    system,
    modelId,
    temperature,
    ...(topP !== undefined ? { topP } : {}),
    maxTokens,
    ...(omit.length ? { omitParameters: omit } : {}),
    ...(req.noCache ? { cache: false } : {}),
    ...(cacheHistory !== 'all' ? { cacheHistory } : {}),
    conversationId: req.conversationId || undefined,
    turn: req.turn || undefined,
  };
}
