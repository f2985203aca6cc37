/**
 * The seed's API Gateway envelope on the client side (`API_GATEWAY_ENVELOPE=seed`): the JSON
 * request the seed's REST service sends, and the JSON answer of the seed's Lambda behind a
 * non-proxy integration (the Lambda side is lambda/seed-envelope.ts).
 *
 * - Request body: `{"queryStringParameters":{"query":"<base64 LlmRequest>"},"requestContext":{"requestId":"<uuid>"}}`.
 * - Answer (HTTP 200 whatever the Lambda says): `{"statusCode":200,"headers":{…},"body":"<base64 LlmResponse>"}`;
 *   on errors `statusCode` 400 or 500 and a plain-text `body`; `headers` may be absent (the Java
 *   runtime leaves null fields out).
 * - A Lambda that crashes or times out behind a non-proxy integration: HTTP 200 with Lambda's own
 *   `{"errorMessage":…,"errorType":…}`.
 */

/** The seed Lambda's answer. */
export interface SeedReply {
  statusCode: number;
  body: string;
  headers?: Record<string, unknown>;
}

/** The request body the seed's client sends, in its field order, for a base64 `LlmRequest`. */
export function seedRequestBody(queryBase64: string, requestId: string): string {
  return JSON.stringify({ queryStringParameters: { query: queryBase64 }, requestContext: { requestId } });
}

function parseJson(bytes: Buffer): unknown {
  const text = bytes.toString('utf8').trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The seed envelope in an HTTP body: a JSON object with an integer `statusCode` and a string `body`. */
export function parseSeedReply(bytes: Buffer): SeedReply | undefined {
  const json = parseJson(bytes) as Partial<SeedReply> | undefined;
  if (typeof json !== 'object' || json === null) return undefined;
  if (!Number.isInteger(json.statusCode) || typeof json.body !== 'string') return undefined;
  return json as SeedReply;
}

/** Lambda's own error object (`errorMessage`), which a non-proxy integration passes on with HTTP 200. */
export function lambdaFunctionError(bytes: Buffer): string | undefined {
  const json = parseJson(bytes) as { errorMessage?: unknown } | undefined;
  return typeof json?.errorMessage === 'string' ? json.errorMessage : undefined;
}

// The AWS SDK for Java v2 appends "(Service: X, Status Code: N, Request ID: …)" to a service
// exception's message (AwsServiceException.getMessage), and the seed Lambda answers every Bedrock
// failure as 400 "Error: <that message>".
const SDK_STATUS = /\(Service: [^,()]*, Status Code: (\d{3}),/;

/**
 * Whether a seed error is worth retrying: 500 (the seed's unexpected failure) yes; 400 no —
 * unless its text is an AWS SDK exception whose own status is 429 or 5xx (a Bedrock throttle or
 * outage the seed reports as 400); other statuses (our Lambda speaking the seed's envelope) by
 * the usual rule, `isRetryable(status)`.
 */
export function seedErrorRetryable(statusCode: number, text: string, isRetryable: (status: number) => boolean): boolean {
  if (statusCode === 400) {
    const sdk = SDK_STATUS.exec(text);
    return sdk !== null && (sdk[1] === '429' || sdk[1]!.startsWith('5'));
  }
  return statusCode === 500 || isRetryable(statusCode);
}
