/**
 * Output-token caps of the common Bedrock model families, in one table. Bedrock answers a Converse
 * call whose `inferenceConfig.maxTokens` is above the model's cap with a ValidationException
 * ("The maximum tokens you requested exceeds the model limit of N. ..."), so the producer refuses
 * such a conversation at submission and the Lambda refuses such a request before calling Bedrock.
 * A model the table does not know passes unchecked (Bedrock then has the last word).
 *
 * To add a family: one row in {@link MODEL_OUTPUT_CAPS}, matched against the base model id (an
 * inference-profile id or ARN is reduced to it by {@link baseModelId}).
 *
 * Sources (read 2026-11): Anthropic's model comparison ("max output", docs.anthropic.com, models
 * overview) and Bedrock's Anthropic messages parameters page; Bedrock user guide pages
 * model-parameters-meta (Llama `max_gen_len` 1..2048), model-parameters-titan-text
 * (`maxTokenCount`: Express 8192, Lite 4096, Premier 3072), model-parameters-mistral-text-completion,
 * Amazon Nova user guide "Complete request schema" (`maxTokens` at most 5k), DeepSeek-R1 parameters.
 * Bedrock caps Claude at 64000 output tokens even where Anthropic's own API allows more.
 */

/** One row of the cap table. */
export interface ModelOutputCap {
  /** Human name of the family, used in messages. */
  family: string;
  /** Matches the base model id (no region prefix, no ARN). */
  match: RegExp;
  /** Largest `maxTokens` Bedrock accepts for it. */
  maxOutputTokens: number;
}

/** Caps by family; the first matching row wins, so more specific rows come first. */
export const MODEL_OUTPUT_CAPS: readonly ModelOutputCap[] = [
  { family: 'Claude 3 Haiku', match: /^anthropic\.claude-3-haiku-/, maxOutputTokens: 4096 },
  { family: 'Claude 3 Sonnet', match: /^anthropic\.claude-3-sonnet-/, maxOutputTokens: 4096 },
  { family: 'Claude 3 Opus', match: /^anthropic\.claude-3-opus-/, maxOutputTokens: 4096 },
  { family: 'Claude 3.5 Haiku', match: /^anthropic\.claude-3-5-haiku-/, maxOutputTokens: 8192 },
  { family: 'Claude 3.5 Sonnet', match: /^anthropic\.claude-3-5-sonnet-/, maxOutputTokens: 8192 },
  { family: 'Claude 3.7 Sonnet', match: /^anthropic\.claude-3-7-sonnet-/, maxOutputTokens: 64000 },
  { family: 'Claude Sonnet 4', match: /^anthropic\.claude-sonnet-4-(20250514|5-)/, maxOutputTokens: 64000 },
  { family: 'Claude Haiku 4.5', match: /^anthropic\.claude-haiku-4-5-/, maxOutputTokens: 64000 },
  { family: 'Claude Opus 4.5', match: /^anthropic\.claude-opus-4-5-/, maxOutputTokens: 64000 },
  { family: 'Claude Opus 4 / 4.1', match: /^anthropic\.claude-opus-4-(20250514|1-)/, maxOutputTokens: 32000 },
  { family: 'Titan Text Express', match: /^amazon\.titan-text-express-/, maxOutputTokens: 8192 },
  { family: 'Titan Text Lite', match: /^amazon\.titan-text-lite-/, maxOutputTokens: 4096 },
  { family: 'Titan Text Premier', match: /^amazon\.titan-text-premier-/, maxOutputTokens: 3072 },
  { family: 'Nova Micro / Lite / Pro', match: /^amazon\.nova-(micro|lite|pro)-v1/, maxOutputTokens: 5000 },
  { family: 'Llama 3.x', match: /^meta\.llama3-/, maxOutputTokens: 2048 },
  { family: 'Mistral 7B Instruct', match: /^mistral\.mistral-7b-instruct-/, maxOutputTokens: 8192 },
  { family: 'Mixtral 8x7B Instruct', match: /^mistral\.mixtral-8x7b-instruct-/, maxOutputTokens: 4096 },
  { family: 'Mistral Large / Small (2402)', match: /^mistral\.mistral-(large|small)-2402-/, maxOutputTokens: 8192 },
  { family: 'DeepSeek-R1', match: /^deepseek\.r1-/, maxOutputTokens: 32768 },
];

/** Geographic prefixes of cross-region inference profiles (`us.anthropic...`, `global.anthropic...`). */
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;

/**
 * The base model id of a model id, an inference-profile id (`us.<model>`) or an ARN of a foundation
 * model or system inference profile. An application-inference-profile ARN has no model in it and
 * comes back unchanged.
 */
export function baseModelId(modelId: string): string {
  let id = modelId.trim();
  const arn = /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(foundation-model|inference-profile)\/(.+)$/.exec(id);
  if (arn) id = arn[2]!;
  return id.replace(PROFILE_PREFIX, '');
}

/** The cap row for a model (any id form), or undefined when the family is unknown. */
export function outputCapOf(modelId: string): ModelOutputCap | undefined {
  const base = baseModelId(modelId);
  return MODEL_OUTPUT_CAPS.find((c) => c.match.test(base));
}

/**
 * Why `maxTokens` is too large for `modelId`, or undefined when it fits (or the model is unknown).
 * The message names the field the caller used (`maxTokens`, `parameters.max_tokens`).
 */
export function maxTokensProblem(modelId: string, maxTokens: number, field = 'maxTokens'): string | undefined {
  const cap = outputCapOf(modelId);
  if (!cap || maxTokens <= cap.maxOutputTokens) return undefined;
  return `${field} ${maxTokens} is above the output cap of ${modelId} (${cap.family}): at most ${cap.maxOutputTokens}`;
}

/** The `maxTokens` to send when a caller names none: `fallback`, lowered to the model's cap. */
export function defaultMaxTokensFor(modelId: string, fallback: number): number {
  const cap = outputCapOf(modelId);
  return cap ? Math.min(cap.maxOutputTokens, fallback) : fallback;
}
