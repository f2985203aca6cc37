/**
 * The project's small error family. Every error that crosses a boundary is one of these, so
 * callers branch on `name`/`retryable`/`status`, never on message strings.
 */

export interface PipelineErrorOptions {
  /** Machine-readable code, e.g. `invalid_request`, `throttled`, `upstream_unavailable`. */
  code?: string;
  /** True when the same call may succeed later (timeouts, connection errors, 429, 5xx). */
  retryable?: boolean;
  /** HTTP status to answer with, or the status the provider answered. */
  status?: number;
  details?: unknown;
  cause?: unknown;
}

export class PipelineError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status?: number;
  readonly details?: unknown;

  constructor(message: string, opts: PipelineErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PipelineError';
    this.code = opts.code ?? 'pipeline_error';
    this.retryable = opts.retryable ?? false;
    this.status = opts.status;
    this.details = opts.details;
  }
}

/** A bad environment value: the process must not start. */
export class ConfigError extends PipelineError {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message, { code: 'invalid_config', details: { key } });
    this.name = 'ConfigError';
  }
}

/** Bad client input: answered with a 4xx naming the fault. */
export class ValidationError extends PipelineError {
  constructor(message: string, details?: unknown, status = 400, code = 'invalid_request') {
    super(message, { code, status, details });
    this.name = 'ValidationError';
  }
}

/**
 * A request body the server will not read at all: over the size limit (413 `payload_too_large`)
 * or not of an accepted media type (415 `unsupported_media_type`). Bad content is a
 * {@link ValidationError}; this is about the envelope.
 */
export class RequestBodyError extends PipelineError {
  constructor(message: string, status: 413 | 415) {
    super(message, { code: status === 413 ? 'payload_too_large' : 'unsupported_media_type', status });
    this.name = 'RequestBodyError';
  }
}

/** Bytes that are not a valid protobuf message (or not valid base64). Never retryable. */
export class ProtobufDecodeError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'invalid_protobuf', status: 400, cause });
    this.name = 'ProtobufDecodeError';
  }
}

export type ProviderName = 'bedrock' | 'ollama' | 'api-gateway' | 'openai';

/** A failed call to an LLM provider or the API Gateway, classified as retryable or permanent. */
export class ProviderError extends PipelineError {
  readonly provider: ProviderName;
  constructor(provider: ProviderName, message: string, opts: PipelineErrorOptions = {}) {
    super(message, { code: 'provider_error', ...opts });
    this.name = 'ProviderError';
    this.provider = provider;
  }
}

/** Whether an HTTP status from a provider is worth retrying. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Error codes of Node sockets and timers that mean "try again". */
const RETRYABLE_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export function isRetryableNetworkError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: { code?: string } } | undefined;
  if (!e) return false;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  return RETRYABLE_NET_CODES.has(e.code ?? '') || RETRYABLE_NET_CODES.has(e.cause?.code ?? '');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
