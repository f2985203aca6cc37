/**
 * Builds the handler's proxy results: protobuf replies, and errors as protobuf or JSON; for a
 * request in the seed's envelope, both in that envelope (seed-envelope.ts).
 *
 * Base64 decision (see lambda/README.md, "Base64 and binary media types"): the body is always
 * base64 of the protobuf bytes; only the `isBase64Encoded` flag depends on the client.
 * - The client's first `Accept` type is `application/x-protobuf` or `application/octet-stream`
 *   (our cloud client): `isBase64Encoded: true`, so API Gateway hands it raw bytes (HTTP API
 *   always; REST API when that type is in its binary media types — otherwise REST passes the
 *   base64 text through, which our client also reads).
 * - Anything else (a seed client, curl, `*\/*`): `isBase64Encoded: false`, so every gateway passes
 *   the base64 text through untouched — what seed clients expect.
 */
import { encodeResponseBase64, type ErrorDetail, type LlmResponse } from '../proto/codec';
import { PipelineError } from '../shared/errors';
import type { ProxyResult } from './proxy-types';
import { seedErrorText, seedResult, type SeedCall } from './seed-envelope';

export const PROTOBUF_TYPE = 'application/x-protobuf';
const BINARY_TYPES = new Set([PROTOBUF_TYPE, 'application/octet-stream']);

function mediaTypes(accept: string | undefined): string[] {
  return (accept ?? '')
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .filter(Boolean);
}

/** True when the client's first Accept type is a binary protobuf type (API Gateway's own rule). */
export function wantsBinary(accept: string | undefined): boolean {
  const first = mediaTypes(accept)[0];
  return first !== undefined && BINARY_TYPES.has(first);
}

/** True when the client asks for JSON and not for protobuf. */
export function wantsJson(accept: string | undefined): boolean {
  const types = mediaTypes(accept);
  return types.includes('application/json') && !types.includes(PROTOBUF_TYPE);
}

/**
 * A protobuf reply, base64 in the body, flagged binary only for clients that ask for it; for a
 * `seed` call, the base64 in the seed's JSON envelope.
 */
export function protobufResult(statusCode: number, message: LlmResponse, accept: string | undefined, seed?: SeedCall): ProxyResult {
  if (seed) return seedResult(seed, statusCode, encodeResponseBase64(message));
  return {
    statusCode,
    headers: { 'Content-Type': PROTOBUF_TYPE },
    isBase64Encoded: wantsBinary(accept),
    body: encodeResponseBase64(message),
  };
}

/** The error detail the handler answers with; unknown errors are not described to the caller. */
export function errorDetailOf(err: unknown): ErrorDetail {
  if (err instanceof PipelineError && err.name !== 'ConfigError') {
    const status = err.status ?? 500;
    return { code: err.code, message: err.message, retryable: err.retryable, status };
  }
  return { code: 'internal_error', message: 'internal error in the Lambda handler', retryable: false, status: 500 };
}

/**
 * An error reply: JSON `{ error: { code, message, retryable } }` when asked for, else protobuf;
 * for a `seed` call, the seed's plain-text error in its envelope.
 */
export function errorResult(
  detail: ErrorDetail,
  accept: string | undefined,
  echo: Pick<LlmResponse, 'conversationId' | 'turn'> = {},
  extraHeaders: Record<string, string> = {},
  seed?: SeedCall,
): ProxyResult {
  if (seed) return seedResult(seed, detail.status, seedErrorText(detail));
  if (wantsJson(accept)) {
    return {
      statusCode: detail.status,
      headers: { 'Content-Type': 'application/json', ...extraHeaders },
      isBase64Encoded: false,
      body: JSON.stringify({ error: { code: detail.code, message: detail.message, retryable: detail.retryable } }),
    };
  }
  const result = protobufResult(detail.status, { outputText: '', error: detail, ...echo }, accept);
  return { ...result, headers: { ...result.headers, ...extraHeaders } };
}
