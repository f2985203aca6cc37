/**
 * A Bedrock Runtime emulator that the unmodified `@aws-sdk/client-bedrock-runtime` can call with
 * only its `endpoint` changed: `POST /model/{modelId}/converse` (Converse API) and
 * `POST /model/{modelId}/invoke` (Anthropic messages, Amazon Titan text and Meta Llama bodies).
 * Replies are deterministic and start with `[emulated bedrock <model>]`; tokens are whitespace words.
 * Errors use Bedrock's wire shape (`x-amzn-errortype` header, `{"message": ...}` body) so the SDK
 * raises the matching exception class (ThrottlingException, ValidationException, ...).
 *
 * HTTP/2: the SDK's default request handler for this client is `NodeHttp2Handler`, which fails
 * against an HTTP/1.1 server ("Protocol error"). The emulator serves plain HTTP/1.1 by default;
 * with `tls` it serves HTTPS with ALPN `h2` and `http/1.1` on one port, so both the SDK's default
 * transport and ours (`NodeHttpHandler`, see lambda/README.md) can be exercised end to end.
 *
 * Real behaviours reproduced (each tested through the unmodified SDK in bedrock-emulator.test.ts):
 * - output caps per model family (the model catalogue, `catalog`): `inferenceConfig.maxTokens` above the cap
 *   → ValidationException "The maximum tokens you requested exceeds the model limit of N. ...";
 * - parameters the catalogue says a model rejects (bedrock/parameter-rejection.ts has the sources):
 *   `temperature` → "The model returned the following errors: `temperature` is deprecated for this
 *   model."; `temperature` with `topP` → "... `temperature` and `top_p` cannot both be specified
 *   for this model. Please use only one."; a system prompt → "This model doesn't support system
 *   messages. ..."; `topP` → "... `top_p` is deprecated for this model." (that one is not seen in
 *   any source: by analogy);
 * - reasoning for models the catalogue marks `reasoning: 'default' | 'always'`: a
 *   `reasoningContent` block (`reasoningText: {text, signature}`) before the text, spending
 *   {@link DEFAULT_REASONING_TOKENS} output tokens (`[emulate:reasoning=N]` for N); when the
 *   budget (`maxTokens`, else the cap) is no larger, the reasoning uses all of it and the answer
 *   has no text block, `stopReason: max_tokens` (as Converse answers a reasoning model whose
 *   `maxTokens` is too small);
 * - the context window (catalogue `contextWindow`): an answer that would not fit after the input
 *   is cut there, `stopReason: model_context_window_exceeded`;
 * - models that need an inference profile ({@link PROFILE_ONLY_MODELS}): the bare id →
 *   ValidationException "Invocation of model ID … with on-demand throughput isn't supported. ...";
 *   the `us.`/`eu.`/`apac.`/`global.` profile id works;
 * - answers without text, triggered by a marker in the last user message:
 *   `[emulate:content_filtered]`, `[emulate:guardrail_intervened]`, `[emulate:malformed_model_output]`
 *   (200, no content, that `stopReason`) and `[emulate:empty]` (200, `end_turn`, no content);
 * - long answers: `[emulate:tokens=N]` makes the reply N words (cut at `maxTokens`: `max_tokens`);
 * - latency proportional to output tokens (`msPerOutputToken`), so an answer can outlast API
 *   Gateway's 29 s the way a long real one does;
 * - ServiceQuotaExceededException (`{kind:'status', status:400, errorType:'ServiceQuotaExceededException'}`)
 *   and ModelTimeoutException (`{kind:'status', status:408}`) faults;
 * - model lifecycle, from the model catalogue (shared/model-catalog) in the request's region (the
 *   SigV4 credential scope of its Authorization header, else the emulator's `region`): an
 *   end-of-life model → 404 ResourceNotFoundException {@link END_OF_LIFE_MESSAGE}; a Legacy model
 *   the account "has not used" (`modelAccess.legacyUnused`) → 404 ResourceNotFoundException
 *   {@link legacyUnusedMessage} (wording and sources: bedrock/bedrock-errors.ts);
 * - model access through AWS Marketplace: a model in `modelAccess.notSubscribed` → 403
 *   AccessDeniedException {@link marketplaceDeniedMessage} until `availableAfterMs` after its first
 *   refused call (never, when unset), as a subscription that completes minutes after the role was fixed.
 *   Both are set at start or at run time (`POST /_emulator/model-access`).
 *
 * @example
 * const emu = await startBedrockEmulator({ port: 0 });
 * const client = new BedrockRuntimeClient({
 *   region: 'us-east-1', endpoint: emu.url, requestHandler: new NodeHttpHandler(),
 *   credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
 * });
 * await client.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
 * await emu.close();
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { baseModelId, SHIPPED_CATALOG, type ModelCatalog } from '../shared/model-catalog';
import { bedrockReply, countTokens, truncateWords } from './emulated-text';
import { CachePointError, type CacheUsage, EmulatedPromptCache } from './emulated-prompt-cache';
import { startEmulatorServer, sendJson, type EmulatorContext, type EmulatorHandle, type EmulatorRequest } from './emulator-server';
import { FaultInjector, type FaultSpec, type InjectedFault } from './fault-injector';
import { isBedrockControlRequest, serveBedrockControl, type BedrockControlOptions } from './bedrock-control-emulator';
import { isStsRequest, serveSts, type StsEmulatorOptions } from './sts-emulator';

export type { EmulatorHandle } from './emulator-server';

/**
 * Base model ids the emulator refuses on demand, as Bedrock does for models offered only through
 * cross-region inference profiles: the catalogue's rows with `inferenceProfile: "required"`
 * (Claude 3.5 Haiku and newer, Llama 3.2/3.3/4, Nova 2, DeepSeek-R1 ...).
 */
export const PROFILE_ONLY_MODELS: readonly RegExp[] = SHIPPED_CATALOG.families()
  .filter((f) => f.inferenceProfile === 'required')
  .map((f) => new RegExp(f.match));

/** A running Bedrock emulator: the shared handle plus its output-latency setting. */
export interface BedrockEmulatorHandle extends EmulatorHandle {
  /** The account's model access (changeable at run time, as `POST /_emulator/model-access`). */
  modelAccess: ModelAccessSettings;
  /** Added per output token, in ms (changeable at run time). */
  tuning: { msPerOutputToken: number };
  /** Model calls served per HTTP version (`2` over ALPN h2, `1.1` otherwise). */
  httpVersions: Record<string, number>;
  /** The tokens-per-minute quotas by model (changeable at run time) and what each admitted and throttled. */
  quotas: { tokensPerMinute: Record<string, number>; admittedTokens: Record<string, number>; throttled: Record<string, number> };
  /** The prompt cache (emulated-prompt-cache.ts): `clear()` empties it. */
  promptCache: EmulatedPromptCache;
}

/** Options of {@link startBedrockEmulator}. */
export interface BedrockEmulatorOptions {
  /** Port; default 0 (a free port). `npm run emulators` uses BEDROCK_EMULATOR_PORT (4010). */
  port?: number;
  /** Interface; default `127.0.0.1`. */
  host?: string;
  /** Latency added to every model call, in ms. Default 0. */
  latencyMs?: number;
  /** Fault rules active from the start (and restored by `faults.reset()`). Default none. */
  faults?: FaultSpec[];
  /** Model ids accepted; others get `ValidationException` like an unknown id does. Default: any id. */
  models?: string[];
  /**
   * `refuse`: an id the model catalogue (`catalog`, else the shipped one) has no row for gets what
   * Bedrock answers for an id it does not know, 400 ValidationException
   * {@link INVALID_MODEL_ID_MESSAGE}, so a typo fails before real money is involved (`npm start`,
   * the demo). ARNs are accepted (the catalogue cannot know an account's profiles). Default
   * `accept` (tests name made-up ids).
   */
  unknownModels?: 'accept' | 'refuse';
  /** Randomness for rate-based faults. Default `Math.random`. */
  random?: () => number;
  /** Latency per output token of a successful answer, in ms. Default 0. */
  msPerOutputToken?: number;
  /** Serve HTTPS with HTTP/2 (ALPN h2) and HTTP/1.1 with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Base model ids that need an inference profile. Default {@link PROFILE_ONLY_MODELS}. */
  profileOnlyModels?: readonly RegExp[];
  /**
   * Tokens-per-minute quota per model id ("On-demand InvokeModel tokens per minute"), over a
   * sliding 60 s window. A call is admitted while the window's tokens plus its reservation (input
   * tokens + maxTokens, as Bedrock reserves at the start of a request) fit; its charge is then
   * settled to the tokens it used. Beyond: 429 ThrottlingException "Too many tokens, please wait
   * before trying again." Default none. Changeable at run time through the handle's `quotas`.
   */
  tokensPerMinute?: Record<string, number>;
  /** The quota's window, ms. Default 60000 (the benchmark shortens it to measure in seconds). */
  quotaWindowMs?: number;
  /**
   * Model facts: caps, rejected parameters, reasoning and context window (default: the shipped
   * catalogue), and lifecycle errors (only from a catalogue given here: `npm start` passes the one
   * in force; without it a test that only needs answers is not tied to today's lifecycle data).
   */
  catalog?: ModelCatalog;
  /** Region of a request whose Authorization header names none. Default `us-east-1`. */
  region?: string;
  /** The prompt cache's clock (TTLs, emulated-prompt-cache.ts). Default `Date.now`. */
  now?: () => number;
  /** The account's model access (Legacy models not used lately, Marketplace subscriptions). Default: every model usable. */
  modelAccess?: ModelAccessSettings;
  /**
   * The same URL also answers the Bedrock control plane (GetFoundationModel, inference profiles:
   * bedrock-control-emulator.ts) and STS GetCallerIdentity (sts-emulator.ts), so one
   * `AWS_ENDPOINT_URL` serves every AWS client of the project.
   */
  control?: BedrockControlOptions & StsEmulatorOptions;
}

/** The account's standing with models, as Bedrock sees it (changeable at run time). */
export interface ModelAccessSettings {
  /** Legacy models (ids in any form, `*` for all) this account has not used lately: Bedrock refuses them. */
  legacyUnused?: string[];
  /** Days of non-use the legacy message names (real messages say 15 or 30). Default 30. */
  legacyDays?: number;
  /**
   * Third-party models whose AWS Marketplace subscription is not complete: refused with
   * AccessDeniedException naming the Marketplace actions. `availableAfterMs`: the subscription
   * completes this long after the model's first refused call (unset: never, as a role without the
   * actions). `retryMinutes`: the minutes the message names (real ones say 2 or 5). Default 2.
   */
  notSubscribed?: Record<string, { availableAfterMs?: number; retryMinutes?: number }>;
}

/**
 * Bedrock's answer to a model id it does not know (ValidationException, HTTP 400), as users
 * report it from the real service, e.g. aws-samples/amazon-bedrock-workshop#315 ("ValidationException:
 * ... when calling the InvokeModel operation: The provided model identifier is invalid.") and
 * iOfficeAI/AionCore#377 (`API error 400: {"message":"The provided model identifier is invalid."}`
 * for the bare id `sonnet`).
 */
export const INVALID_MODEL_ID_MESSAGE = 'The provided model identifier is invalid.';

/** Bedrock's message for a model past its end of life (sources in bedrock/bedrock-errors.ts). */
export const END_OF_LIFE_MESSAGE =
  'This model version has reached the end of its life. Please refer to the AWS documentation for more details.';

/** Bedrock's message for a Legacy model the account has not used in `days` days. */
export function legacyUnusedMessage(days: number): string {
  return `Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last ${days} days. Please upgrade to an active model on Amazon Bedrock`;
}

/** Bedrock's message when the caller lacks the AWS Marketplace actions model access needs. */
export function marketplaceDeniedMessage(minutes: number): string {
  return `Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after ${minutes} minutes.`;
}

/** The region in a SigV4 Authorization header's credential scope (`Credential=AKID/20261202/<region>/bedrock/aws4_request`). */
export function sigv4Region(authorization: string | string[] | undefined): string | undefined {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  return /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/[a-z0-9-]+\/aws4_request/.exec(value ?? '')?.[1];
}

/** Output tokens a reasoning model spends thinking before its answer, unless `[emulate:reasoning=N]` says. */
export const DEFAULT_REASONING_TOKENS = 64;

/** Bedrock's messages for parameters a model rejects (sources: bedrock/parameter-rejection.ts). */
export const REJECTION_MESSAGES = {
  temperature: 'The model returned the following errors: `temperature` is deprecated for this model.',
  temperatureWithTopP:
    'The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.',
  // Not seen in a source: the temperature sentence with top_p, by analogy.
  topP: 'The model returned the following errors: `top_p` is deprecated for this model.',
  system: "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
} as const;

/** Bedrock's message for a call over the tokens-per-minute quota (seen in ThrottlingException bodies). */
export const TOO_MANY_TOKENS_MESSAGE = 'Too many tokens, please wait before trying again.';

/** Bedrock's exception name for each status the emulator can answer with. */
const ERROR_TYPES: Record<number, string> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

const DEFAULT_MESSAGES: Record<string, string> = {
  ValidationException: 'Validation failed (emulated fault).',
  AccessDeniedException: "You don't have access to the model with the specified model ID (emulated fault).",
  ResourceNotFoundException: 'Model not found (emulated fault).',
  ModelTimeoutException: 'Model has timed out in processing the request (emulated fault).',
  ModelErrorException: 'The model returned an error (emulated fault).',
  ThrottlingException: 'Too many requests, please wait before trying again (emulated fault).',
  ModelNotReadyException: 'Model is not ready for inference; wait and try again (emulated fault).',
  InternalServerException: 'The server encountered an internal error (emulated fault).',
  ServiceUnavailableException: 'Bedrock is unable to process your request (emulated fault).',
  ServiceQuotaExceededException:
    'Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later (emulated fault).',
};

function sendBedrockError(res: ServerResponse, status: number, message: string, errorType?: string): void {
  const type = errorType ?? ERROR_TYPES[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
  sendJson(res, status, { message }, { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });
}

/** Thrown by request validation; answered as a ValidationException. */
class InvalidRequest extends Error {}

function constraint(value: unknown, field: string, rule: string): InvalidRequest {
  return new InvalidRequest(
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must ${rule}`,
  );
}

function checkRange(value: unknown, field: string, min: number, max: number | undefined, integer: boolean): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new InvalidRequest(
      `1 validation error detected: Value '${String(value)}' at '${field}' must be a ${integer ? 'integer' : 'number'}`,
    );
  }
  if (value < min) throw constraint(value, field, `have value greater than or equal to ${min}`);
  if (max !== undefined && value > max) throw constraint(value, field, `have value less than or equal to ${max}`);
}

function checkAlternation(roles: unknown[]): void {
  if (roles.length === 0 || roles[0] !== 'user') {
    throw new InvalidRequest(
      'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
    );
  }
  roles.forEach((role, i) => {
    if (role !== 'user' && role !== 'assistant') {
      throw new InvalidRequest(
        `1 validation error detected: Value '${String(role)}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`,
      );
    }
    if (i > 0 && role === roles[i - 1]) {
      throw new InvalidRequest(
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      );
    }
  });
}

interface Completion {
  text: string;
  truncated: boolean;
  inputTokens: number;
  outputTokens: number;
}

/** `[emulate:reasoning=N]`: a reasoning model thinks N words first. */
const REASONING_MARKER = /\[emulate:reasoning=(\d{1,6})\]/;
/** `[emulate:tokens=N]`: the reply is N words long. */
const TOKENS_MARKER = /\[emulate:tokens=(\d{1,6})\]/;
/** Markers for answers without text, and the Converse stop reason each gives. */
const EMPTY_MARKERS: Record<string, string> = {
  '[emulate:content_filtered]': 'content_filtered',
  '[emulate:guardrail_intervened]': 'guardrail_intervened',
  '[emulate:malformed_model_output]': 'malformed_model_output',
  '[emulate:empty]': 'end_turn',
};

function longReply(model: string, question: string, words: number): string {
  const base = bedrockReply(model, question).split(/\s+/).filter(Boolean);
  return Array.from({ length: words }, (_, i) => base[i % base.length]).join(' ');
}

function complete(model: string, question: string, inputTexts: string[], maxTokens: number | undefined): Completion {
  const long = TOKENS_MARKER.exec(question);
  const full = long ? longReply(model, question, Number(long[1])) : bedrockReply(model, question);
  const { text, truncated } = maxTokens === undefined ? { text: full, truncated: false } : truncateWords(full, maxTokens);
  return {
    text,
    truncated,
    inputTokens: inputTexts.reduce((n, t) => n + countTokens(t), 0),
    outputTokens: countTokens(text),
  };
}

function blockTexts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content
    .map((b: unknown) =>
      b && typeof b === 'object' && typeof (b as { text?: unknown }).text === 'string' ? (b as { text: string }).text : undefined,
    )
    .filter((t): t is string => t !== undefined);
}

interface Message {
  role: unknown;
  content: unknown;
}

function lastUserText(messages: Message[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return last ? blockTexts(last.content).join('\n') : '';
}

interface ConverseOutcome {
  json: { output: unknown; stopReason: string; usage: unknown; metrics: { latencyMs: number } };
  outputTokens: number;
}

/** The reasoning text of `words` words. */
function reasoningText(question: string, words: number): string {
  const base = `[emulated reasoning] The user asks: ${question.slice(0, 200)} Let me think it through step by step before answering.`
    .split(/\s+/)
    .filter(Boolean);
  return Array.from({ length: words }, (_, i) => base[i % base.length]).join(' ');
}

/** The parameter rejection the catalogue says the model makes for this call, if any. */
function rejection(catalog: ModelCatalog, model: string, cfg: Record<string, unknown>, body: Record<string, unknown>): string | undefined {
  const accepted = catalog.accepted(model);
  const system = Array.isArray(body.system) && body.system.length > 0;
  if (system && !accepted.system) return REJECTION_MESSAGES.system;
  const temperature = cfg.temperature !== undefined && cfg.temperature !== null;
  const topP = cfg.topP !== undefined && cfg.topP !== null;
  if (temperature && !accepted.temperature) return REJECTION_MESSAGES.temperature;
  if (topP && !accepted.topP) return REJECTION_MESSAGES.topP;
  if (temperature && topP && !accepted.temperatureWithTopP) return REJECTION_MESSAGES.temperatureWithTopP;
  return undefined;
}

function converse(
  model: string,
  body: Record<string, unknown>,
  startedAt: number,
  catalog: ModelCatalog,
  cache: EmulatedPromptCache,
): ConverseOutcome {
  const messages = body.messages;
  if (!Array.isArray(messages)) {
    throw new InvalidRequest(
      'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
    );
  }
  checkAlternation(messages.map((m: Message) => m?.role));
  messages.forEach((m: Message, i) => {
    if (!Array.isArray(m.content) || m.content.length === 0) {
      throw new InvalidRequest(
        `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`,
      );
    }
  });
  const cfg = (body.inferenceConfig ?? {}) as Record<string, unknown>;
  checkRange(cfg.maxTokens, 'inferenceConfig.maxTokens', 1, undefined, true);
  checkRange(cfg.temperature, 'inferenceConfig.temperature', 0, 1, false);
  checkRange(cfg.topP, 'inferenceConfig.topP', 0, 1, false);
  messages.forEach((m: Message, i) => {
    (m.content as unknown[]).forEach((b, j) => {
      const text = (b as { text?: unknown })?.text;
      if (typeof text === 'string' && text.trim() === '') {
        throw new InvalidRequest(
          `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`,
        );
      }
    });
  });
  const cap = catalog.outputCap(model);
  if (cap !== undefined && typeof cfg.maxTokens === 'number' && cfg.maxTokens > cap) {
    throw new InvalidRequest(
      `The maximum tokens you requested exceeds the model limit of ${cap}. Try again with a maximum tokens value that is lower than ${cap}.`,
    );
  }
  const rejected = rejection(catalog, model, cfg, body);
  if (rejected) throw new InvalidRequest(rejected);
  const system = Array.isArray(body.system) ? blockTexts(body.system) : [];
  const inputTexts = [...system, ...messages.flatMap((m: Message) => blockTexts(m.content))];
  const question = lastUserText(messages);
  const inputTokens = inputTexts.reduce((n, t) => n + countTokens(t), 0);
  let cached: CacheUsage;
  try {
    cached = cache.use(model, catalog.cacheRules(model), body.system, messages as Message[]);
  } catch (err) {
    if (err instanceof CachePointError) throw new InvalidRequest(err.message);
    throw err;
  }
  const cacheUsage = {
    ...(cached.cacheReadInputTokens ? { cacheReadInputTokens: cached.cacheReadInputTokens } : {}),
    ...(cached.cacheWriteInputTokens ? { cacheWriteInputTokens: cached.cacheWriteInputTokens } : {}),
  };
  const marker = Object.keys(EMPTY_MARKERS).find((k) => question.includes(k));
  if (marker) {
    return {
      json: {
        output: { message: { role: 'assistant', content: [] } },
        stopReason: EMPTY_MARKERS[marker]!,
        usage: { inputTokens: cached.inputTokens, outputTokens: 0, totalTokens: inputTokens, ...cacheUsage },
        metrics: { latencyMs: Date.now() - startedAt },
      },
      outputTokens: 0,
    };
  }
  // Converse's default maxTokens is the model's maximum.
  let budget = (cfg.maxTokens as number | undefined) ?? cap;
  let stopReason = 'max_tokens';
  const row = catalog.lookup(model);
  // The context window holds the input and the output: an answer that would pass it is cut there.
  if (row?.contextWindow !== undefined) {
    const room = Math.max(0, row.contextWindow - inputTokens);
    if (budget === undefined || room < budget) {
      budget = room;
      stopReason = 'model_context_window_exceeded';
    }
  }
  const content: unknown[] = [];
  let reasoningTokens = 0;
  if (row?.reasoning === 'default' || row?.reasoning === 'always') {
    const marker = REASONING_MARKER.exec(question);
    const wanted = marker ? Number(marker[1]) : DEFAULT_REASONING_TOKENS;
    reasoningTokens = budget === undefined ? wanted : Math.min(wanted, budget);
    if (reasoningTokens > 0) {
      content.push({
        reasoningContent: {
          reasoningText: { text: reasoningText(question, reasoningTokens), signature: `emulated-signature-${reasoningTokens}` },
        },
      });
    }
    if (budget !== undefined) budget -= reasoningTokens;
  }
  const c = budget === 0 ? { text: '', truncated: true, inputTokens, outputTokens: 0 } : complete(model, question, inputTexts, budget);
  // No text block at all when the reasoning used the whole budget (Converse sends no empty text block).
  if (c.text !== '') content.push({ text: c.text });
  const outputTokens = reasoningTokens + c.outputTokens;
  return {
    json: {
      output: { message: { role: 'assistant', content } },
      stopReason: c.truncated ? stopReason : 'end_turn',
      // Converse counts cache reads and writes apart from inputTokens; totalTokens holds them all.
      usage: { inputTokens: cached.inputTokens, outputTokens, totalTokens: c.inputTokens + outputTokens, ...cacheUsage },
      metrics: { latencyMs: Date.now() - startedAt },
    },
    outputTokens,
  };
}

function malformed(detail: string): InvalidRequest {
  return new InvalidRequest(`Malformed input request: ${detail}, please reformat your input and try again.`);
}

function invokeAnthropic(model: string, body: Record<string, unknown>): { json: unknown; c: Completion } {
  if (typeof body.anthropic_version !== 'string') throw malformed('#: required key [anthropic_version] not found');
  if (body.max_tokens === undefined) throw malformed('#: required key [max_tokens] not found');
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1)
    throw malformed(`#/max_tokens: ${String(body.max_tokens)} is not greater or equal to 1`);
  const t = body.temperature;
  if (t !== undefined && (typeof t !== 'number' || t < 0 || t > 1)) throw malformed(`#/temperature: ${String(t)} is not a number in 0..1`);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw malformed('#/messages: expected at least 1 message');
  if (messages[0]?.role !== 'user') throw new InvalidRequest('messages: first message must use the "user" role');
  messages.forEach((m: Message, i) => {
    if (m?.role !== 'user' && m?.role !== 'assistant')
      throw malformed(`#/messages/${i}/role: ${String(m?.role)} is not a valid enum value`);
    if (i > 0 && m.role === messages[i - 1].role) {
      throw new InvalidRequest(
        `messages: roles must alternate between "user" and "assistant", but found multiple "${String(m.role)}" roles in a row`,
      );
    }
  });
  const system = blockTexts(body.system);
  const c = complete(
    model,
    lastUserText(messages),
    [...system, ...messages.flatMap((m: Message) => blockTexts(m.content))],
    body.max_tokens as number,
  );
  const json = {
    id: `msg_emulated_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: c.text }],
    stop_reason: c.truncated ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: c.inputTokens, output_tokens: c.outputTokens },
  };
  return { json, c };
}

function invoke(model: string, body: Record<string, unknown>): { json: unknown; c: Completion } {
  if ('anthropic_version' in body || 'messages' in body) return invokeAnthropic(model, body);
  if (typeof body.inputText === 'string') {
    const cfg = (body.textGenerationConfig ?? {}) as Record<string, unknown>;
    checkRange(cfg.maxTokenCount, 'textGenerationConfig.maxTokenCount', 1, undefined, true);
    checkRange(cfg.temperature, 'textGenerationConfig.temperature', 0, 1, false);
    const c = complete(model, body.inputText, [body.inputText], cfg.maxTokenCount as number | undefined);
    return {
      json: {
        inputTextTokenCount: c.inputTokens,
        results: [{ tokenCount: c.outputTokens, outputText: c.text, completionReason: c.truncated ? 'LENGTH' : 'FINISH' }],
      },
      c,
    };
  }
  if (typeof body.prompt === 'string') {
    checkRange(body.max_gen_len, 'max_gen_len', 1, undefined, true);
    checkRange(body.temperature, 'temperature', 0, 1, false);
    const c = complete(model, body.prompt, [body.prompt], body.max_gen_len as number | undefined);
    return {
      json: {
        generation: c.text,
        prompt_token_count: c.inputTokens,
        generation_token_count: c.outputTokens,
        stop_reason: c.truncated ? 'length' : 'stop',
      },
      c,
    };
  }
  throw malformed(
    'the emulator understands Anthropic messages (anthropic_version, messages, max_tokens), Amazon Titan text (inputText) and Meta Llama (prompt) bodies',
  );
}

/** Carries out an injected fault; returns true when the request has been dealt with. */
function applyFault(fault: InjectedFault, res: ServerResponse): boolean {
  switch (fault.kind) {
    case 'hang':
      // Never answer: the socket stays open until the client aborts or the emulator closes.
      return true;
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
      res.end('<html><body>emulated malformed response: this is not JSON</body></html>');
      return true;
    case 'midstream-error': {
      const text = JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: '[emulated bedrock] this body is cut off half-way' }] } },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setImmediate(() => res.destroy());
      return true;
    }
    case 'validation':
      sendBedrockError(res, 400, fault.message ?? DEFAULT_MESSAGES.ValidationException!, fault.errorType ?? 'ValidationException');
      return true;
    case 'status': {
      const status = fault.status ?? 500;
      const type = fault.errorType ?? ERROR_TYPES[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
      sendBedrockError(res, status, fault.message ?? DEFAULT_MESSAGES[type] ?? `Emulated HTTP ${status}.`, type);
      return true;
    }
  }
}

const ROUTE = /^\/model\/([^/]+)\/(converse|invoke)$/;

/**
 * Starts the Bedrock Runtime emulator (HTTP/1.1) and resolves once it listens.
 * Control routes: `POST|DELETE|GET /_emulator/faults`, `GET|DELETE /_emulator/stats`.
 */
export async function startBedrockEmulator(opts: BedrockEmulatorOptions = {}): Promise<BedrockEmulatorHandle> {
  const faults = new FaultInjector({ latencyMs: opts.latencyMs, faults: opts.faults, random: opts.random });
  const models = opts.models ? new Set(opts.models) : undefined;
  const refuseUnknown = opts.unknownModels === 'refuse';
  const profileOnly = opts.profileOnlyModels ?? PROFILE_ONLY_MODELS;
  /** Caps, rejected parameters, reasoning, context window: the given catalogue, else the shipped one. */
  const facts = opts.catalog ?? SHIPPED_CATALOG;
  const tuning = { msPerOutputToken: opts.msPerOutputToken ?? 0 };
  const promptCache = new EmulatedPromptCache(opts.now);
  const httpVersions: Record<string, number> = {};
  const quotas = {
    tokensPerMinute: { ...(opts.tokensPerMinute ?? {}) },
    admittedTokens: {} as Record<string, number>,
    throttled: {} as Record<string, number>,
  };
  /** Per model: charges of the last 60 s. */
  const windows = new Map<string, { at: number; tokens: number }[]>();
  const catalog = opts.catalog;
  const modelAccess: ModelAccessSettings = { ...(opts.modelAccess ?? {}) };
  /** Per model: when its pending Marketplace subscription completes. */
  const subscribedAt = new Map<string, number>();

  /** Bedrock's refusal of `model` by lifecycle or access, or undefined when it may be called. */
  function refusal(model: string, headers: EmulatorRequest['headers']): { status: number; type: string; message: string } | undefined {
    const base = baseModelId(model);
    const region = sigv4Region(headers.authorization) ?? opts.region ?? 'us-east-1';
    const life = catalog?.lifecycle(model, region);
    if (life?.status === 'end_of_life') return { status: 404, type: 'ResourceNotFoundException', message: END_OF_LIFE_MESSAGE };
    const unused = modelAccess.legacyUnused ?? [];
    if (life?.status === 'legacy' && (unused.includes('*') || unused.some((m) => baseModelId(m) === base))) {
      return { status: 404, type: 'ResourceNotFoundException', message: legacyUnusedMessage(modelAccess.legacyDays ?? 30) };
    }
    const entry = Object.entries(modelAccess.notSubscribed ?? {}).find(([m]) => baseModelId(m) === base)?.[1];
    if (entry) {
      const now = Date.now();
      if (entry.availableAfterMs !== undefined && !subscribedAt.has(base)) subscribedAt.set(base, now + entry.availableAfterMs);
      const at = subscribedAt.get(base);
      if (at === undefined || now < at)
        return { status: 403, type: 'AccessDeniedException', message: marketplaceDeniedMessage(entry.retryMinutes ?? 2) };
    }
    return undefined;
  }

  /** `GET|POST|DELETE /_emulator/model-access`: the account's model access at run time. */
  function accessControl(req: EmulatorRequest, res: ServerResponse): boolean {
    if (req.path !== '/_emulator/model-access') return false;
    if (req.method === 'POST') {
      let body: ModelAccessSettings;
      try {
        body = JSON.parse(req.body.toString('utf8') || '{}') as ModelAccessSettings;
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new Error('expected { legacyUnused?, legacyDays?, notSubscribed? }');
      } catch (err) {
        sendJson(res, 400, { error: `body: ${(err as Error).message}` });
        return true;
      }
      Object.assign(modelAccess, body);
      subscribedAt.clear();
    } else if (req.method === 'DELETE') {
      for (const k of Object.keys(modelAccess)) delete modelAccess[k as keyof ModelAccessSettings];
      Object.assign(modelAccess, opts.modelAccess ?? {});
      subscribedAt.clear();
    }
    sendJson(res, 200, modelAccess);
    return true;
  }

  /** Admits a call's reservation under the model's quota; the charge to settle, or undefined when over. */
  function admit(model: string, reserve: number): { tokens: number } | undefined {
    const quota = quotas.tokensPerMinute[model];
    if (quota === undefined) return { tokens: 0 };
    const now = Date.now();
    const w = (windows.get(model) ?? []).filter((c) => c.at > now - (opts.quotaWindowMs ?? 60_000));
    windows.set(model, w);
    const used = w.reduce((n, c) => n + c.tokens, 0);
    if (used + reserve > quota) {
      quotas.throttled[model] = (quotas.throttled[model] ?? 0) + 1;
      return undefined;
    }
    const charge = { at: now, tokens: reserve };
    w.push(charge);
    return charge;
  }
  function settle(model: string, charge: { tokens: number }, used: number): void {
    if (quotas.tokensPerMinute[model] === undefined) return;
    charge.tokens = used;
    quotas.admittedTokens[model] = (quotas.admittedTokens[model] ?? 0) + used;
  }

  const router = async (req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> => {
    const startedAt = Date.now();
    if (isStsRequest(req)) return serveSts(req, res, opts.control);
    if (isBedrockControlRequest(req)) return serveBedrockControl(req, res, { profileOnlyModels: profileOnly, ...opts.control });
    const match = ROUTE.exec(req.path);
    if (!match) {
      sendBedrockError(
        res,
        404,
        `The emulator has no route ${req.method} ${req.path}; it serves POST /model/{modelId}/converse and /invoke.`,
        'UnknownOperationException',
      );
      return;
    }
    if (req.method !== 'POST') {
      sendBedrockError(res, 405, `${req.method} is not allowed on ${req.path}; use POST.`, 'UnknownOperationException');
      return;
    }
    let model: string;
    try {
      model = decodeURIComponent(match[1]!);
    } catch {
      sendBedrockError(res, 400, INVALID_MODEL_ID_MESSAGE);
      return;
    }
    const route = match[2] as 'converse' | 'invoke';
    // HTTP/2 requests carry pseudo-headers (`:method`, `:path`) in node's compatibility API.
    const version = ':method' in req.headers ? '2' : '1.1';
    httpVersions[version] = (httpVersions[version] ?? 0) + 1;
    const fault = ctx.faults.decide(route, model);
    if (!(await ctx.delay(ctx.faults.latencyMs))) return;
    if (fault && applyFault(fault, res)) return;

    if ((models && !models.has(model)) || (refuseUnknown && !model.startsWith('arn:') && !facts.lookup(model))) {
      sendBedrockError(res, 400, INVALID_MODEL_ID_MESSAGE);
      return;
    }
    const refused = refusal(model, req.headers);
    if (refused) {
      sendBedrockError(res, refused.status, refused.message, refused.type);
      return;
    }
    if (model === baseModelId(model) && profileOnly.some((re) => re.test(model))) {
      sendBedrockError(
        res,
        400,
        `Invocation of model ID ${model} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
      );
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(req.body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (err) {
      if (route === 'converse')
        sendBedrockError(res, 400, `Could not parse the request body: ${(err as Error).message}`, 'SerializationException');
      else sendBedrockError(res, 400, `Malformed input request: ${(err as Error).message}, please reformat your input and try again.`);
      return;
    }
    try {
      const maxTokens =
        route === 'converse'
          ? (body.inferenceConfig as { maxTokens?: unknown } | undefined)?.maxTokens
          : (body.max_tokens ?? body.max_gen_len);
      if (route === 'converse') {
        const out = converse(model, body, startedAt, facts, promptCache);
        const usage = out.json.usage as { inputTokens: number; outputTokens: number };
        const charge = admit(model, usage.inputTokens + (typeof maxTokens === 'number' ? maxTokens : usage.outputTokens));
        if (!charge) {
          sendBedrockError(res, 429, TOO_MANY_TOKENS_MESSAGE, 'ThrottlingException');
          return;
        }
        settle(model, charge, usage.inputTokens + usage.outputTokens);
        if (!(await ctx.delay(out.outputTokens * tuning.msPerOutputToken))) return;
        out.json.metrics.latencyMs = Date.now() - startedAt;
        sendJson(res, 200, out.json, { 'x-amzn-requestid': randomUUID() });
      } else {
        const { json, c } = invoke(model, body);
        const charge = admit(model, c.inputTokens + (typeof maxTokens === 'number' ? maxTokens : c.outputTokens));
        if (!charge) {
          sendBedrockError(res, 429, TOO_MANY_TOKENS_MESSAGE, 'ThrottlingException');
          return;
        }
        settle(model, charge, c.inputTokens + c.outputTokens);
        sendJson(res, 200, json, {
          'x-amzn-requestid': randomUUID(),
          'x-amzn-bedrock-input-token-count': String(c.inputTokens),
          'x-amzn-bedrock-output-token-count': String(c.outputTokens),
          'x-amzn-bedrock-invocation-latency': String(Date.now() - startedAt),
        });
      }
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err;
      sendBedrockError(res, 400, err.message, 'ValidationException');
    }
  };

  const handle = await startEmulatorServer({
    host: opts.host,
    port: opts.port,
    faults,
    router,
    control: accessControl,
    tls: opts.tls,
    sendError: (res, status, message) => sendBedrockError(res, status, message),
  });
  return { ...handle, tuning, httpVersions, quotas, modelAccess, promptCache };
}
