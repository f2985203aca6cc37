/**
 * Maps whatever the Bedrock Runtime SDK throws into a {@link ProviderError} carrying the status
 * the Lambda answers with, a machine-readable code and whether a retry may help. The provider's
 * message is kept, prefixed with the exception name, so the caller sees why Bedrock refused.
 *
 * | Bedrock exception                                   | status | code                  | retryable |
 * |-----------------------------------------------------|--------|-----------------------|-----------|
 * | ThrottlingException, TooManyRequestsException,      | 429    | throttled             | yes       |
 * | ModelNotReadyException, ServiceQuotaExceededException |      |                       |           |
 * | ServiceUnavailableException, ModelTimeoutException  | 503    | upstream_unavailable  | yes       |
 * | InternalServerException, ModelErrorException        | 502    | upstream_error        | yes       |
 * | ValidationException                                 | 400    | invalid_request       | no        |
 * | ResourceNotFoundException                           | 400    | model_not_found       | no        |
 * | AccessDeniedException, UnrecognizedClient, creds    | 502    | upstream_access_denied| no        |
 * | timeout (request timeout or deadline abort)         | 504    | upstream_timeout      | yes       |
 * | connection refused/reset, DNS                       | 503    | upstream_unreachable  | yes       |
 * | unreadable body (SDK deserialization error)         | 502    | upstream_bad_response | yes       |
 * | anything else                                       | 502    | upstream_error        | if 5xx/unknown |
 *
 * AccessDenied is deliberately not 403: a 403 from API Gateway means "your key or signature was
 * refused", which the caller can fix; Bedrock refusing the Lambda's own role is a server-side
 * misconfiguration the caller cannot fix, so it is a permanent upstream failure (502).
 */
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
  ModelNotReadyException: { status: 429, code: 'throttled', retryable: true },
  ServiceQuotaExceededException: { status: 429, code: 'throttled', retryable: true },
  ServiceUnavailableException: { status: 503, code: 'upstream_unavailable', retryable: true },
  ModelTimeoutException: { status: 503, code: 'upstream_unavailable', retryable: true },
  InternalServerException: { status: 502, code: 'upstream_error', retryable: true },
  ModelErrorException: { status: 502, code: 'upstream_error', retryable: true },
  ValidationException: { status: 400, code: 'invalid_request', retryable: false },
  ResourceNotFoundException: { status: 400, code: 'model_not_found', retryable: false },
  AccessDeniedException: { status: 502, code: 'upstream_access_denied', retryable: false },
  UnrecognizedClientException: { status: 502, code: 'upstream_access_denied', retryable: false },
  InvalidSignatureException: { status: 502, code: 'upstream_access_denied', retryable: false },
  CredentialsProviderError: { status: 502, code: 'upstream_access_denied', retryable: false },
};

/**
 * Classifies an error thrown by `BedrockRuntimeClient.send` (or by our own deadline abort).
 *
 * @param err - what the SDK threw
 * @param opts.timedOut - true when our own timeout/deadline signal fired (the SDK then reports a
 *   generic AbortError, which must become a retryable 504, not a cancellation)
 */
export function toBedrockProviderError(err: unknown, opts: { timedOut?: boolean } = {}): ProviderError {
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
  if (known) return make(known);
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
