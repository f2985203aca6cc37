/**
 * Reads an API Gateway proxy event — REST API (payload 1.0) or HTTP API (payload 2.0) — into one
 * normalised request, and extracts the protobuf bytes its body carries. The seed's JSON envelope
 * (see seed-envelope.ts) is recognised too: as the event itself (non-proxy integration, `format:
 * 'seed'`) or as a proxy event's body (a body starting with `{`); then the bytes are its `query`.
 *
 * Accepted body encodings (each one tested in proxy-event.test.ts):
 *
 * | `isBase64Encoded` | body (after the envelope)        | who sends it                              | result            |
 * |-------------------|----------------------------------|-------------------------------------------|-------------------|
 * | false             | base64 text (line breaks allowed)| curl, text clients; API without binary    | decoded once      |
 * |                   |                                  | types; any text content type              |                   |
 * | true              | base64 text of the message       | base64-text client through an API whose   | envelope decoded, |
 * |                   |                                  | binary media types match (REST with       | then decoded again|
 * |                   |                                  | `application/x-protobuf`, HTTP API always)|                   |
 * | true              | raw protobuf bytes               | a client posting binary protobuf          | envelope decoded, |
 * |                   |                                  | (`application/x-protobuf`, octet-stream)  | used as is        |
 * | false             | anything that is not base64 text | raw bytes squeezed through a text API     | 400 invalid_base64 |
 * |                   |                                  | (lossy: UTF-8 mangles them)               |                   |
 * | either            | empty                            |                                           | 400 empty_body    |
 * | either            | JSON starting with `{`           | the seed's client: its envelope, see      | the base64 of     |
 * |                   |                                  | seed-envelope.ts                          | `query`, decoded  |
 *
 * The content type is not needed to decide: once the envelope is removed, the bytes' shape says
 * which case applies (see proto/base64-body.ts for why that is unambiguous).
 */
import { ValidationError } from '../shared/errors';
import { fromBase64 } from '../proto/codec';
import { protobufBytesOf } from '../proto/base64-body';
import type { HeaderMap, ProxyEvent, ProxyEventV2 } from './proxy-types';
import { seedCallInBody, seedCallOfEvent, seedQueryBytes, type SeedCall } from './seed-envelope';

/** The normalised request. */
export interface ProxyRequest {
  /** `seed`: the event is the seed's JSON itself (non-proxy integration; method taken as POST). */
  format: 'v1' | 'v2' | 'seed';
  method: string;
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The body bytes after removing API Gateway's base64 envelope (if `isBase64Encoded`). */
  body: Buffer;
  isBase64Encoded: boolean;
  requestId?: string;
  /** Set when the request is in the seed's JSON envelope: the answer must be in it too. */
  seed?: SeedCall;
}

const ENVELOPE_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function lowerHeaders(headers: HeaderMap | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function isV2(event: ProxyEvent): event is ProxyEventV2 {
  return (event as ProxyEventV2).version === '2.0';
}

/**
 * Normalises a proxy event. Throws {@link ValidationError} (400) for an event that is neither
 * format or whose base64 envelope is broken.
 */
export function parseProxyEvent(event: unknown): ProxyRequest {
  if (typeof event !== 'object' || event === null)
    throw new ValidationError('event is not an API Gateway proxy event', undefined, 400, 'invalid_event');
  const seedEvent = seedCallOfEvent(event);
  if (seedEvent) {
    return {
      format: 'seed',
      method: 'POST',
      path: '/',
      headers: {},
      body: Buffer.alloc(0),
      isBase64Encoded: false,
      requestId: seedEvent.requestId,
      seed: seedEvent,
    };
  }
  const e = event as ProxyEvent;
  let format: 'v1' | 'v2';
  let method: unknown;
  let path: unknown;
  let requestId: string | undefined;
  if (isV2(e)) {
    format = 'v2';
    method = e.requestContext?.http?.method;
    path = e.rawPath ?? e.requestContext?.http?.path;
    requestId = e.requestContext?.requestId;
  } else {
    format = 'v1';
    method = e.httpMethod;
    path = e.path;
    requestId = e.requestContext?.requestId;
  }
  if (typeof method !== 'string' || method === '') {
    throw new ValidationError(
      'event has no HTTP method (expected REST httpMethod or HTTP API requestContext.http.method)',
      undefined,
      400,
      'invalid_event',
    );
  }
  const rawBody = e.body ?? '';
  if (typeof rawBody !== 'string') throw new ValidationError('event body is not a string', undefined, 400, 'invalid_event');
  const isBase64Encoded = e.isBase64Encoded === true;
  let body: Buffer;
  if (isBase64Encoded) {
    const compact = rawBody.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !ENVELOPE_BASE64.test(compact)) {
      throw new ValidationError('isBase64Encoded is true but the body is not valid base64', undefined, 400, 'invalid_base64');
    }
    body = Buffer.from(compact, 'base64');
  } else {
    body = Buffer.from(rawBody, 'utf8');
  }
  return {
    format,
    method: method.toUpperCase(),
    path: typeof path === 'string' && path !== '' ? path : '/',
    headers: lowerHeaders(e.headers),
    body,
    isBase64Encoded,
    requestId,
    seed: seedCallInBody(body),
  };
}

/**
 * The protobuf message bytes of a parsed request, following the table above. Throws
 * {@link ValidationError} with code `empty_body` or `invalid_base64`.
 */
export function requestProtobufBytes(req: ProxyRequest): Uint8Array {
  if (req.seed) return seedQueryBytes(req.seed);
  if (req.body.length === 0)
    throw new ValidationError('request body is empty: expected a base64 protobuf LlmRequest', undefined, 400, 'empty_body');
  if (req.isBase64Encoded) return protobufBytesOf(req.body);
  // A text body can only be base64 (raw bytes do not survive a text API); line breaks inside
  // are tolerated here, as MIME-style encoders insert them.
  try {
    return fromBase64(req.body.toString('utf8'));
  } catch {
    throw new ValidationError(
      'request body is not valid base64: send the LlmRequest as base64 text, or as binary with a binary content type (application/x-protobuf)',
      undefined,
      400,
      'invalid_base64',
    );
  }
}
