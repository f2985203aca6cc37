/**
 * The original (seed) system's API Gateway envelope, on the Lambda side.
 *
 * The seed's REST service POSTs, with `Content-Type: application/x-protobuf`, the JSON
 * `{"queryStringParameters":{"query":"<base64 BedrockRequest>"},"requestContext":{"requestId":"<uuid>"}}`
 * and parses the JSON answer `{"statusCode":200,"headers":{…},"body":"<base64 BedrockResponse>"}`,
 * base64-decoding `body`. Its Lambda sits behind a non-proxy integration, so that request JSON is
 * the event, and the `APIGatewayProxyResponseEvent` it returns is the HTTP body. Errors are
 * `statusCode` 400 `Bad Request: …` / `Error: …` or 500 `Internal Server Error: …`, plain text.
 *
 * This module recognises the seed's request wherever API Gateway can put it — as the event itself
 * (non-proxy integration) or as the body of a REST/HTTP API proxy event — and builds the answer in
 * the envelope the seed client parses. `BedrockRequest`/`BedrockResponse` are field for field
 * `LlmRequest` 1–2 / `LlmResponse` 1–3, so the protobuf inside is our codec's.
 */
import { fromBase64, type ErrorDetail } from '../proto/codec';
import { ValidationError } from '../shared/errors';
import type { ProxyResult } from './proxy-types';

/** A request in the seed's envelope. */
export interface SeedCall {
  /** Where it was: the event itself (non-proxy integration) or a proxy event's body. */
  via: 'event' | 'body';
  /** `queryStringParameters.query` when it is a string. */
  query?: string;
  /** `requestContext.requestId`, echoed as `X-Request-ID` like the seed Lambda does. */
  requestId?: string;
  /** Set when the body started with `{` but is not a JSON object: why. */
  invalid?: string;
}

/** The seed Lambda's `APIGatewayProxyResponseEvent` as JSON: what the seed client parses. */
export interface SeedEnvelope {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function callOf(json: Json, via: SeedCall['via']): SeedCall {
  const params = json.queryStringParameters;
  const context = json.requestContext;
  const query = isObject(params) && typeof params.query === 'string' ? params.query : undefined;
  const requestId = isObject(context) && typeof context.requestId === 'string' ? context.requestId : undefined;
  return { via, query, requestId };
}

/**
 * The seed call when `event` is the seed's JSON itself (non-proxy integration): an object with
 * `queryStringParameters` and neither REST's `httpMethod` nor HTTP API's `version`.
 */
export function seedCallOfEvent(event: unknown): SeedCall | undefined {
  if (!isObject(event) || event.httpMethod !== undefined || event.version !== undefined) return undefined;
  if (!('queryStringParameters' in event)) return undefined;
  return callOf(event, 'event');
}

const LEADING_JSON_WS = /^[ \t\r\n]*\{/;

/**
 * The seed call a proxy event's body carries (after API Gateway's base64 envelope is removed),
 * or undefined when the body is ours. A body is JSON when its first byte is `{`: neither base64
 * text nor a protobuf `LlmRequest` (first byte `0x0A`, `0x12`, …) can start so. After leading
 * whitespace, `{` only counts when the rest parses, because `0x0A` is also a newline.
 */
export function seedCallInBody(body: Buffer): SeedCall | undefined {
  const first = body[0];
  if (first !== 0x7b && !LEADING_JSON_WS.test(body.toString('latin1', 0, 64))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    if (first !== 0x7b) return undefined;
    return { via: 'body', invalid: `request body is not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (!isObject(json)) return first === 0x7b ? { via: 'body', invalid: 'request body is not a JSON object' } : undefined;
  return callOf(json, 'body');
}

/**
 * The protobuf bytes of the seed's `query`. Throws {@link ValidationError} (400) with the seed's
 * own wording when `query` is missing.
 */
export function seedQueryBytes(call: SeedCall): Uint8Array {
  if (call.invalid) throw new ValidationError(call.invalid, undefined, 400, 'invalid_json');
  if (call.query === undefined) throw new ValidationError("Missing required 'query' parameter", undefined, 400, 'missing_query');
  try {
    return fromBase64(call.query);
  } catch {
    throw new ValidationError(
      'queryStringParameters.query is not valid base64 (expected standard padded base64 of a BedrockRequest)',
      undefined,
      400,
      'invalid_base64',
    );
  }
}

/** The seed Lambda's plain-text error body for a status: `Bad Request: `, `Internal Server Error: `, else `Error: `. */
export function seedErrorText(detail: Pick<ErrorDetail, 'status' | 'message'>): string {
  const prefix = detail.status === 400 ? 'Bad Request' : detail.status === 500 ? 'Internal Server Error' : 'Error';
  return `${prefix}: ${detail.message}`;
}

/**
 * The handler's result for a seed call. `body` is base64 protobuf on success, plain text on error.
 * As the event of a non-proxy integration the envelope itself is returned (API Gateway sends it
 * as the HTTP body); inside a proxy event the same envelope is the HTTP body, as JSON, with the
 * envelope's status as the HTTP status too.
 */
export function seedResult(call: SeedCall, statusCode: number, body: string): ProxyResult {
  const ok = statusCode >= 200 && statusCode < 300;
  const envelope: SeedEnvelope = {
    statusCode,
    // The seed sends no headers on errors (null, left out by the Lambda runtime); we always send
    // them, since the seed client's JSON format requires the field.
    headers: { 'Content-Type': ok ? 'application/x-protobuf' : 'text/plain; charset=utf-8', 'X-Request-ID': call.requestId ?? 'unknown' },
    body,
  };
  if (call.via === 'event') return envelope;
  return { statusCode, headers: { 'Content-Type': 'application/json' }, isBase64Encoded: false, body: JSON.stringify(envelope) };
}
