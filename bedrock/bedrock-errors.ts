/**
 * Maps whatever the Bedrock Runtime SDK throws into a {@link ProviderError} carrying the status
 * the Lambda answers with, a machine-readable code and whether a retry may help. The provider's
 * message is kept, prefixed with the exception name, and where the user can fix the cause a
 * sentence saying how is added. Classes and HTTP statuses are the SDK's own
 * (`@aws-sdk/client-bedrock-runtime`, dist-es/schemas/schemas_0.js: `[_hE]` per exception).
 *
 * | Bedrock exception (its HTTP status)                 | status | code                  | retryable |
 * |-----------------------------------------------------|--------|-----------------------|-----------|
 * | ThrottlingException (429), TooManyRequestsException | 429    | throttled             | yes       |
 * | ServiceQuotaExceededException (400)                 | 503    | quota_exceeded        | yes (not a throttle) |
 * | ModelNotReadyException (429)                        | 503    | model_not_ready       | yes       |
 * | ModelTimeoutException (408)                         | 504    | model_timeout         | yes       |
 * | ServiceUnavailableException (503)                   | 503    | upstream_unavailable  | yes       |
 * | InternalServerException (500)                       | 502    | upstream_error        | yes       |
 * | ModelErrorException (424)                           | 502    | model_error           | no        |
 * | ValidationException (400): on-demand not supported  | 400    | inference_profile_required | no   |
 * | ValidationException (400): max tokens over the cap  | 400    | max_tokens_over_cap   | no        |
 * | ValidationException (400): a parameter rejected     | 400    | parameter_rejected    | no (retried once without it first: bedrock-client) |
 * | ValidationException (400), other                    | 400    | invalid_request       | no        |
 * | ResourceNotFoundException (404): end of life        | 400    | model_end_of_life     | no        |
 * | ResourceNotFoundException (404): Legacy, unused     | 400    | model_legacy          | no        |
 * | ResourceNotFoundException (404), other              | 400    | model_not_found       | no        |
 * | AccessDeniedException (403): AWS Marketplace        | 503    | model_access_pending  | yes (minutes: the worker delays the step) |
 * | AccessDeniedException (403), other                  | 502    | upstream_access_denied| no        |
 * | UnrecognizedClient, InvalidSignature, credentials   | 502    | upstream_access_denied| no        |
 * | timeout (request timeout or deadline abort)         | 504    | upstream_timeout      | yes       |
 * | connection refused/reset, DNS                       | 503    | upstream_unreachable  | yes       |
 * | unreadable body (SDK deserialization error)         | 502    | upstream_bad_response | yes       |
 * | anything else                                       | 502    | upstream_error        | if 5xx/unknown |
 *
 * Only a real throttle is 429: the worker answers a 429 by pausing the cloud queue on every host,
 * which fits a per-second rate limit but not a quota that may last the day (ServiceQuotaExceeded)
 * or one model warming up (ModelNotReady); those are retried per job with backoff instead.
 * AccessDenied is deliberately not 403: a 403 from API Gateway means "your key or signature was
 * refused", which the caller can fix; Bedrock refusing the Lambda's own role is a server-side
 * misconfiguration the caller cannot fix, so it is a permanent upstream failure (502).
 *
 * Lifecycle (read 2026-12-02): Bedrock answers a model past its end of life with
 * `ResourceNotFoundException: This model version has reached the end of its life. Please refer to
 * the AWS documentation for more details.` (seen on Converse/InvokeModel and GetFoundationModel:
 * aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708, 2026-08-31;
 * BerriAI/litellm#42053, 2026-09-19; griptape-ai/griptape-nodes-engine#4498, 2026-05-04), and a
 * Legacy model the account has not used lately with `ResourceNotFoundException: Access denied.
 * This Model is marked by provider as Legacy and you have not been actively using the model in the
 * last 15 days. Please upgrade to an active model on Amazon Bedrock` (15 or 30 days:
 * awslabs/llmeter#35, 2026-03-24; aws-samples/amazon-bedrock-workshop#386, 2026-03-16; #708 above).
 * Both are permanent; the message names the model catalogue's replacement (shared/model-catalog).
 *
 * Model access (read 2026-12-02, Bedrock user guide "Request access to models",
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html): access is on by default
 * "with the correct AWS Marketplace permissions"; the first call to a third-party model starts a
 * subscription, which fails without `aws-marketplace:ViewSubscriptions` / `aws-marketplace:Subscribe`
 * and then answers `AccessDeniedException: Model access is denied due to IAM user or service role is
 * not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions,
 * aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock
 * documentation for further details. Your AWS Marketplace subscription for this model cannot be
 * completed at this time. If you recently fixed this issue, try again after 2 minutes.` — the
 * minutes vary (2: aws-samples/sample-host-openclaw-on-amazon-bedrock-agentcore#41, 2026-03-16;
 * 5: ministryofjustice/modernisation-platform-environments#18323, 2026-08-21; the guide says the
 * subscription can take up to 15 minutes), so they are read from the message
 * (shared/model-access.ts), never assumed. That variant is retryable (`model_access_pending`);
 * every other AccessDeniedException stays permanent.
 */
import { rejectedParameterOf } from './parameter-rejection';
import { ProviderError, errorMessage, isRetryableNetworkError } from '../shared/errors';
import type { ModelCatalog } from '../shared/model-catalog';
import { MODEL_ACCESS_PENDING, retryAfterFromMessage } from '../shared/model-access';

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

interface Mapping {
  status: number;
  code: string;
  retryable: boolean;
}

const BY_NAME: Record<string, Mapping> = {
  ThrottlingException: { status: 429, code: 'throttled', retryable: true },
  TooManyRequestsException: { status: 429, code: 'throttled', retryable: true },
  ServiceQuotaExceededException: { status: 503, code: 'quota_exceeded', retryable: true },
  ModelNotReadyException: { status: 503, code: 'model_not_ready', retryable: true },
  ModelTimeoutException: { status: 504, code: 'model_timeout', retryable: true },
  ServiceUnavailableException: { status: 503, code: 'upstream_unavailable', retryable: true },
  InternalServerException: { status: 502, code: 'upstream_error', retryable: true },
  ModelErrorException: { status: 502, code: 'model_error', retryable: false },
  ValidationException: { status: 400, code: 'invalid_request', retryable: false },
  ResourceNotFoundException: { status: 400, code: 'model_not_found', retryable: false },
  AccessDeniedException: { status: 502, code: 'upstream_access_denied', retryable: false },
  UnrecognizedClientException: { status: 502, code: 'upstream_access_denied', retryable: false },
  InvalidSignatureException: { status: 502, code: 'upstream_access_denied', retryable: false },
  CredentialsProviderError: { status: 502, code: 'upstream_access_denied', retryable: false },
};

/** Bedrock's wording when a model can only be called through an inference profile. */
const ON_DEMAND_UNSUPPORTED = /on-demand throughput isn.t supported/i;
/** Bedrock's wording when `maxTokens` is above the model's cap. */
const OVER_CAP = /maximum tokens you requested exceeds the model limit of (\d+)/i;

/** Bedrock's wording for a model past its end of life. */
export const END_OF_LIFE = /reached the end of its life/i;
/** Bedrock's wording for a Legacy model the account has not used lately. */
export const LEGACY_UNUSED = /marked by provider as Legacy/i;
/** Bedrock's wording when the role lacks the AWS Marketplace actions model access needs. */
export const MARKETPLACE_DENIED = /aws-marketplace:(ViewSubscriptions|Subscribe)|AWS Marketplace (actions|subscription)/i;

/** Where the model stands and what replaces it, as the catalogue says (empty when it does not know). */
function lifecycleNote(modelId: string, opts: MappingContext): string {
  if (!modelId || !opts.catalog) return '';
  const row = opts.catalog.lookup(modelId);
  const life = opts.region ? opts.catalog.lifecycle(modelId, opts.region) : undefined;
  const parts: string[] = [];
  if (life?.endOfLifeDate) parts.push(`end of life ${life.endOfLifeDate}${opts.region ? ` in ${opts.region}` : ''}`);
  else if (life?.legacyDate) parts.push(`Legacy since ${life.legacyDate}${opts.region ? ` in ${opts.region}` : ''}`);
  const replacement = row?.replacement;
  if (replacement) parts.push(`the model catalogue suggests ${replacement} instead`);
  return parts.join('; ');
}

interface MappingContext {
  modelId?: string;
  /** The Lambda's region: the lifecycle the catalogue gives is per region. */
  region?: string;
  /** The model catalogue, for the replacement of a legacy or end-of-life model. */
  catalog?: ModelCatalog;
}

/** What the user can do about a permanent failure, or undefined when nothing specific helps. */
function hintFor(
  name: string,
  message: string,
  modelId: string,
  ctx: MappingContext = {},
): { code?: string; hint: string; retryable?: boolean; status?: number } | undefined {
  const model = modelId || 'the model';
  switch (name) {
    case 'ValidationException': {
      if (ON_DEMAND_UNSUPPORTED.test(message)) {
        const id = modelId ? `us.${modelId.replace(/^(us|eu|apac|global)\./, '')}` : 'us.<model id>';
        return {
          code: 'inference_profile_required',
          hint: `${model} can only be called through an inference profile: use its id, e.g. ${id} (or eu./apac./global. for other geographies), as the model id`,
        };
      }
      const cap = OVER_CAP.exec(message);
      if (cap) return { code: 'max_tokens_over_cap', hint: `set maxTokens to at most ${cap[1]} for ${model}` };
      const parameter = rejectedParameterOf({ name, message });
      if (parameter) {
        return {
          code: 'parameter_rejected',
          hint: `${model} rejects ${parameter === 'system' ? 'a system prompt' : `\`${parameter}\``} even without the parameters already left out: leave it out of the conversation, or describe the model in MODEL_CATALOG_FILE (its "parameters")`,
        };
      }
      return undefined;
    }
    case 'AccessDeniedException':
      if (MARKETPLACE_DENIED.test(message)) {
        return {
          code: MODEL_ACCESS_PENDING,
          retryable: true,
          status: 503,
          hint: `the Lambda's role needs aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe for ${model} (deploy/template.yaml grants them); after the fix, access can take minutes, so the call is retried with a delay (MODEL_ACCESS_RETRY_MS, at most MODEL_ACCESS_MAX_WAIT_MS)`,
        };
      }
      return {
        hint: `allow bedrock:InvokeModel on ${model} in the Lambda's role (and, for a third-party model, aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe); check that no SCP or permissions boundary denies it in this region`,
      };
    case 'ResourceNotFoundException': {
      if (END_OF_LIFE.test(message)) {
        const note = lifecycleNote(modelId, ctx);
        return {
          code: 'model_end_of_life',
          hint: `${model} has reached its end of life${note ? ` (${note})` : ''}: name an active model in cloudModel or BEDROCK_MODEL_ID`,
        };
      }
      if (LEGACY_UNUSED.test(message)) {
        const note = lifecycleNote(modelId, ctx);
        return {
          code: 'model_legacy',
          hint: `${model} is Legacy and this account has not used it lately, so Bedrock refuses it${note ? ` (${note})` : ''}: name an active model in cloudModel or BEDROCK_MODEL_ID`,
        };
      }
      return {
        hint: `check the model id ${model} and the region (aws bedrock list-foundation-models); some models are only offered through an inference profile (us.<model id>)`,
      };
    }
    case 'ModelErrorException':
      return { hint: `the model failed on this request; the same request will fail again: try another model or a shorter prompt` };
    case 'ServiceQuotaExceededException':
      return {
        hint: "your account's Bedrock quota for this model is used up: see Service Quotas (Amazon Bedrock) and request an increase, or lower the load",
      };
    default:
      return undefined;
  }
}

/**
 * Classifies an error thrown by `BedrockRuntimeClient.send` (or by our own deadline abort).
 *
 * @param err - what the SDK threw
 * @param opts.timedOut - true when our own timeout/deadline signal fired (the SDK then reports a
 *   generic AbortError, which must become a retryable 504, not a cancellation)
 * @param opts.modelId - the model called, named in the advice for the user
 */
export function toBedrockProviderError(
  err: unknown,
  opts: { timedOut?: boolean; timeoutHint?: string } & MappingContext = {},
): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const providerMessage = e.message ?? errorMessage(err);
  const details = {
    exception: name,
    providerStatus: e.$metadata?.httpStatusCode,
    requestId: e.$metadata?.requestId,
  };
  const make = (m: Mapping, message = `${name}: ${providerMessage}`) =>
    new ProviderError('bedrock', message, { ...m, details, cause: err });

  const known = BY_NAME[name];
  if (known) {
    const help = hintFor(name, providerMessage, opts.modelId ?? '', opts);
    if (!help) return make(known);
    const retryAfterMs = help.code === MODEL_ACCESS_PENDING ? retryAfterFromMessage(providerMessage) : undefined;
    return new ProviderError('bedrock', `${name}: ${providerMessage} (${help.hint})`, {
      status: help.status ?? known.status,
      code: help.code ?? known.code,
      retryable: help.retryable ?? known.retryable,
      details: retryAfterMs === undefined ? details : { ...details, retryAfterMs },
      cause: err,
    });
  }
  if (opts.timedOut || name === 'TimeoutError' || e.code === 'ETIMEDOUT' || e.code === 'ERR_SOCKET_CONNECTION_TIMEOUT') {
    return make(
      { status: 504, code: 'upstream_timeout', retryable: true },
      `Bedrock call timed out: ${providerMessage}${opts.timedOut && opts.timeoutHint ? ` (${opts.timeoutHint})` : ''}`,
    );
  }
  if (name !== 'AbortError' && isRetryableNetworkError(err)) {
    return make({ status: 503, code: 'upstream_unreachable', retryable: true }, `Bedrock unreachable: ${name}: ${providerMessage}`);
  }
  if (name === 'AbortError') {
    return make({ status: 504, code: 'aborted', retryable: true }, `Bedrock call aborted: ${providerMessage}`);
  }
  if (name === 'SyntaxError' || /Deserialization error/i.test(providerMessage)) {
    // A body the SDK cannot parse (cut off, or an HTML error page from a proxy): likely transient.
    return make(
      { status: 502, code: 'upstream_bad_response', retryable: true },
      `Bedrock answered an unreadable body: ${providerMessage.split('\n')[0]}`,
    );
  }
  const status = e.$metadata?.httpStatusCode;
  const retryable = status === undefined || status >= 500 || e.$fault === 'server';
  return make({ status: 502, code: 'upstream_error', retryable });
}
