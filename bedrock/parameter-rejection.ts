/**
 * Inference parameters a model rejects: which ones to leave out of a Converse call before it is
 * sent (the model catalogue's `parameters`, plus what the fleet learned earlier), and which one a
 * ValidationException names, so the call can be retried once without it.
 *
 * Bedrock's own wording (each read 2026-12-02; the Anthropic part is passed through after "The
 * model returned the following errors: "):
 * - "`temperature` is deprecated for this model." — Claude Opus 4.7 and later, Opus 5
 *   (cline/cline#10572: `{"message":"The model returned the following errors: \`temperature\` is
 *   deprecated for this model."}`; promptfoo/promptfoo#10307 for `us.anthropic.claude-opus-5`;
 *   Mintplex-Labs/anything-llm#5821 for Opus 4.8). Some clients see it with the Anthropic error
 *   JSON embedded instead (tinovyatkin/amazon-bedrock-copilot-chat#546), so the match is on the
 *   sentence, not on the whole message.
 * - "`temperature` and `top_p` cannot both be specified for this model. Please use only one." —
 *   the Claude 4.5 family and Sonnet 4.6 (a litellm BedrockException in
 *   skydiscover-ai/skydiscover#15; BerriAI/litellm#15097 for the Anthropic API).
 * - "This model doesn't support system messages. Try again without a system message or use a
 *   model that supports system messages." — Titan Text, Mistral 7B / Mixtral 8x7B Instruct
 *   (Mintplex-Labs/anything-llm#2486, 567-labs/instructor#1753).
 * Uncertain: AWS documents none of these sentences; a new wording for the same rejection is not
 * recognised and fails the call as before (a permanent ValidationException).
 */
import type { AcceptedParameters } from '../shared/model-catalog';

/** A parameter a model may reject, named as on the wire (`LlmRequest.omit_parameters`). */
export type RejectableParameter = 'temperature' | 'top_p' | 'system';

export const REJECTABLE_PARAMETERS: readonly RejectableParameter[] = ['temperature', 'top_p', 'system'];

export const isRejectableParameter = (p: string): p is RejectableParameter => (REJECTABLE_PARAMETERS as readonly string[]).includes(p);

/** What a call would send, as far as the rejectable parameters go. */
export interface SentParameters {
  temperature?: number;
  topP?: number;
  system?: string;
}

/**
 * The parameters to leave out of a call to a model with `accepted` parameters, given what the call
 * would send and what was learned about the model (`learned`): only parameters the call sends.
 * A model that rejects `temperature` with `top_p` keeps the temperature (the conversation's own
 * setting) and loses `top_p`.
 */
export function plannedOmissions(
  accepted: AcceptedParameters,
  sent: SentParameters,
  learned: readonly string[] = [],
): RejectableParameter[] {
  const out: RejectableParameter[] = [];
  const hasTemperature = sent.temperature !== undefined;
  const hasTopP = sent.topP !== undefined;
  if (hasTemperature && (!accepted.temperature || learned.includes('temperature'))) out.push('temperature');
  if (hasTopP && (!accepted.topP || learned.includes('top_p'))) out.push('top_p');
  if (hasTemperature && hasTopP && !out.includes('temperature') && !out.includes('top_p') && !accepted.temperatureWithTopP)
    out.push('top_p');
  if (sent.system && (!accepted.system || learned.includes('system'))) out.push('system');
  return out;
}

/** Sentences that name a rejected parameter, most specific first. */
const REJECTIONS: readonly { re: RegExp; parameter: RejectableParameter }[] = [
  { re: /`?temperature`?\s+and\s+`?top_p`?\s+cannot both be specified/i, parameter: 'top_p' },
  { re: /`?temperature`?\s+is\s+(deprecated|not supported)/i, parameter: 'temperature' },
  { re: /`?top_p`?\s+is\s+(deprecated|not supported)/i, parameter: 'top_p' },
  { re: /doesn'?t support system messages/i, parameter: 'system' },
];

/**
 * The parameter a Bedrock error rejects, when it is a ValidationException that names one (see
 * the file comment); undefined for any other error.
 */
export function rejectedParameterOf(err: unknown): RejectableParameter | undefined {
  const e = err as { name?: unknown; message?: unknown } | null;
  if (!e || e.name !== 'ValidationException' || typeof e.message !== 'string') return undefined;
  return REJECTIONS.find((r) => r.re.test(e.message as string))?.parameter;
}
