/**
 * Test factories: API Gateway proxy events (REST 1.0 and HTTP API 2.0) carrying an `LlmRequest`
 * in each body encoding API Gateway can produce.
 */
import { encodeRequest, type LlmRequest } from '../../proto/codec';
import type { ProxyEventV1, ProxyEventV2 } from '../../lambda/proxy-types';

/**
 * How the body is carried:
 * - `text`: base64 text, `isBase64Encoded: false` (seed client, text API);
 * - `double`: base64 text wrapped by API Gateway's binary envelope, `isBase64Encoded: true`;
 * - `raw`: raw protobuf wrapped by the envelope, `isBase64Encoded: true`.
 */
export type BodyMode = 'text' | 'double' | 'raw';

export interface EventOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Body as given (overrides `request`). */
  body?: string | null;
  isBase64Encoded?: boolean;
  request?: LlmRequest;
  mode?: BodyMode;
}

/** Body and flag for a request in the given mode. */
export function encodeBody(request: LlmRequest, mode: BodyMode): { body: string; isBase64Encoded: boolean } {
  const raw = Buffer.from(encodeRequest(request));
  const text = raw.toString('base64');
  if (mode === 'text') return { body: text, isBase64Encoded: false };
  if (mode === 'double') return { body: Buffer.from(text, 'latin1').toString('base64'), isBase64Encoded: true };
  return { body: raw.toString('base64'), isBase64Encoded: true };
}

function bodyOf(opts: EventOptions): { body: string | null; isBase64Encoded: boolean } {
  if (opts.body !== undefined) return { body: opts.body, isBase64Encoded: opts.isBase64Encoded ?? false };
  if (opts.request) return encodeBody(opts.request, opts.mode ?? 'text');
  return { body: null, isBase64Encoded: false };
}

/** A REST API (payload 1.0) proxy event. */
export function v1Event(opts: EventOptions = {}): ProxyEventV1 {
  const { body, isBase64Encoded } = bodyOf(opts);
  return {
    resource: '/{proxy+}',
    httpMethod: opts.method ?? 'POST',
    path: opts.path ?? '/generate',
    headers: { 'Content-Type': 'application/x-protobuf', ...opts.headers },
    body,
    isBase64Encoded,
    requestContext: { requestId: 'req-v1', stage: 'test' },
  };
}

/** An HTTP API (payload 2.0) proxy event. */
export function v2Event(opts: EventOptions = {}): ProxyEventV2 {
  const { body, isBase64Encoded } = bodyOf(opts);
  const event: ProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: opts.path ?? '/generate',
    rawQueryString: '',
    headers: { 'content-type': 'application/x-protobuf', ...opts.headers },
    isBase64Encoded,
    requestContext: { requestId: 'req-v2', stage: '$default', http: { method: opts.method ?? 'POST', path: opts.path ?? '/generate' } },
  };
  if (body !== null) event.body = body;
  return event;
}
