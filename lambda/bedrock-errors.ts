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
 * | ResourceNotFoundException (404)                     | 400    | model_not_found       | no        |
 * | AccessDeniedException (403)                         | 502    | upstream_access_denied| no        |
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
 */
import { rejectedParameterOf } from './parameter-rejection';
import { ProviderError, errorMessage, isRetryableNetworkError } from '../shared/errors';

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

/** What the user can do about a permanent failure, or undefined when nothing specific helps. */
function hintFor(name: string, message: string, modelId: string): { code?: string; hint: string } | undefined {
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
      return { hint: `enable access to ${model} in the Amazon Bedrock console (Model access) in this region, and allow bedrock:InvokeModel on it in the Lambda's role` };
    case 'ResourceNotFoundException':
      return { hint: `check the model id ${model} and the region (aws bedrock list-foundation-models); some models are only offered through an inference profile (us.<model id>)` };
    case 'ModelErrorException':
      return { hint: `the model failed on this request; the same request will fail again: try another model or a shorter prompt` };
    case 'ServiceQuotaExceededException':
      return { hint: 'your account\'s Bedrock quota for this model is used up: see Service Quotas (Amazon Bedrock) and request an increase, or lower the load' };
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
export function toBedrockProviderError(err: unknown, opts: { timedOut?: boolean; modelId?: string } = {}): ProviderError {
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
    const help = hintFor(name, providerMessage, opts.modelId ?? '');
    if (!help) return make(known);
    return make({ ...known, code: help.code ?? known.code }, `${name}: ${providerMessage} (${help.hint})`);
  }
  if (opts.timedOut || name === 'TimeoutError' || e.code === 'ETIMEDOUT' || e.code === 'ERR_SOCKET_CONNECTION_TIMEOUT') {
    return make({ status: 504, code: 'upstream_timeout', retryable: true }, `Bedrock call timed out: ${providerMessage}`);
  }
  if (name !== 'AbortError' && isRetryableNetworkError(err)) {
    return make({ status: 503, code: 'upstream_unreachable', retryable: true }, `Bedrock unreachable: ${name}: ${providerMessage}`);
  }
  if (name === 'AbortError') {
    return make({ status: 504, code: 'aborted', retryable: true }, `Bedrock call aborted: ${providerMessage}`);
  }
  if (name === 'SyntaxError' || /Deserialization error/i.test(providerMessage)) {
    // A body the SDK cannot parse (cut off, or an HTML error page from a proxy): likely transient.
    return make({ status: 502, code: 'upstream_bad_response', retryable: true }, `Bedrock answered an unreadable body: ${providerMessage.split('\n')[0]}`);
  }
  const status = e.$metadata?.httpStatusCode;
  const retryable = status === undefined || status >= 500 || e.$fault === 'server';
  return make({ status: 502, code: 'upstream_error', retryable });
}
