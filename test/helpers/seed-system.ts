/**
 * The original (seed) system's two ends of the cloud wire, rebuilt for tests from its source
 * (poojas49/LLM-Conversation-Service), with its own schema (test/fixtures/seed-messages.proto):
 *
 * - {@link seedClientGenerate}: what `LlmService.processQuery` (llm-server/src/main/scala/com/example/
 *   services/LlmService.scala) sends and how it reads the answer. Headers: `Content-Type` as that
 *   file sets it, `Accept-Encoding` from sttp's `basicRequest`, `Accept`/`User-Agent` as the JDK's
 *   HttpURLConnection adds them. Body: spray-json's compact print of `ApiGatewayRequest`
 *   (domain/Models.scala: `queryStringParameters`, then `requestContext`). Answer: HTTP 2xx (sttp's
 *   `asJson` fails otherwise), JSON with all three of `statusCode` (Int), `headers`
 *   (Map[String,String]) and `body` (String) — `jsonFormat3(ApiGatewayResponse)` requires each —
 *   then `java.util.Base64.getDecoder` (strict: no whitespace) and `BedrockResponse.parseFrom`.
 * - {@link startSeedLambda}: the seed Lambda (lambda-function/.../LambdaHandler.scala) behind a
 *   non-proxy REST integration: the request JSON is the event, only `queryStringParameters.query`
 *   is read, the `APIGatewayProxyResponseEvent` comes back as the HTTP 200 body, serialised by the
 *   Lambda Java runtime, which leaves null fields out (aws/aws-lambda-java-libs,
 *   aws-lambda-java-serialization/.../factories/JacksonFactory.java: `Include.NON_NULL`) — so error
 *   answers carry no `headers`. Missing query → 400 `Bad Request: Missing required 'query'
 *   parameter`; a decode or Bedrock failure → 400 `Error: <message>`; anything else → 500
 *   `Internal Server Error: <message>`. Success headers: `Content-Type: application/x-protobuf`,
 *   `X-Request-ID`; `BedrockResponse` with `output_text` only (BedrockService.scala leaves
 *   `confidence_scores` and `tokens` empty).
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(path.join(__dirname, '..', 'fixtures', 'seed-messages.proto'));
export const BedrockRequest = root.lookupType('com.example.proto.BedrockRequest');
export const BedrockResponse = root.lookupType('com.example.proto.BedrockResponse');

export interface SeedBedrockRequest {
  inputText: string;
  parameters: Record<string, string>;
}

export interface SeedBedrockResponse {
  outputText: string;
  confidenceScores: Record<string, number>;
  tokens: string[];
}

const JAVA_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `java.util.Base64.getDecoder().decode`: the basic alphabet, no whitespace, else IllegalArgumentException. */
export function javaBase64Decode(text: string): Buffer {
  if (!JAVA_BASE64.test(text)) throw new Error(`Illegal base64 input: ${JSON.stringify(text.slice(0, 40))}`);
  return Buffer.from(text, 'base64');
}

export function encodeSeedRequest(req: SeedBedrockRequest): Buffer {
  return Buffer.from(BedrockRequest.encode(BedrockRequest.fromObject(req)).finish());
}

export function decodeSeedRequest(bytes: Uint8Array): SeedBedrockRequest {
  return BedrockRequest.toObject(BedrockRequest.decode(bytes), { defaults: true }) as SeedBedrockRequest;
}

export function encodeSeedResponse(res: Partial<SeedBedrockResponse>): Buffer {
  return Buffer.from(BedrockResponse.encode(BedrockResponse.fromObject(res)).finish());
}

export function decodeSeedResponse(bytes: Uint8Array): SeedBedrockResponse {
  return BedrockResponse.toObject(BedrockResponse.decode(bytes), { defaults: true }) as SeedBedrockResponse;
}

/** The seed request body for `inputText` with the seed's parameter defaults (0.7, 150). */
export function seedRequestJson(inputText: string, opts: { temperature?: number; maxTokens?: number; requestId?: string } = {}): string {
  const parameters = { temperature: String(opts.temperature ?? 0.7), max_tokens: String(opts.maxTokens ?? 150) };
  const query = encodeSeedRequest({ inputText, parameters }).toString('base64');
  return JSON.stringify({ queryStringParameters: { query }, requestContext: { requestId: opts.requestId ?? randomUUID() } });
}

/** The seed's `ApiGatewayResponse`, read as spray-json reads it; throws what the seed client would. */
export function parseSeedEnvelope(text: string): { statusCode: number; headers: Record<string, string>; body: string } {
  const json = JSON.parse(text) as Record<string, unknown>;
  if (!Number.isInteger(json.statusCode)) throw new Error("Object is missing required member 'statusCode'");
  const headers = json.headers;
  if (
    typeof headers !== 'object' ||
    headers === null ||
    Array.isArray(headers) ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    throw new Error("Object is missing required member 'headers' (Map[String,String])");
  }
  if (typeof json.body !== 'string') throw new Error("Object is missing required member 'body'");
  return { statusCode: json.statusCode as number, headers: headers as Record<string, string>, body: json.body };
}

export interface SeedClientResult {
  httpStatus: number;
  /** The raw HTTP body. */
  text: string;
  /** What `processQuery` yields: `BedrockResponse` decoded from the envelope's `body`. */
  response: SeedBedrockResponse;
  envelope: { statusCode: number; headers: Record<string, string>; body: string };
}

/** Sends the seed client's exact request to `url` and reads the answer the way it does (throws where it would). */
export async function seedClientGenerate(
  url: string,
  inputText: string,
  opts: { temperature?: number; maxTokens?: number } = {},
): Promise<SeedClientResult> {
  const body = Buffer.from(seedRequestJson(inputText, opts), 'utf8');
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: {
          'Accept-Encoding': 'gzip, deflate',
          'Content-Type': 'application/x-protobuf',
          'User-Agent': 'Java/17.0.9',
          Accept: 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2',
          Connection: 'keep-alive',
          'Content-Length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (status < 200 || status >= 300) throw Object.assign(new Error(`HttpError(${text}, ${status})`), { httpStatus: status, text });
  const envelope = parseSeedEnvelope(text);
  const response = decodeSeedResponse(javaBase64Decode(envelope.body));
  return { httpStatus: status, text, response, envelope };
}

/** What the seed Lambda's BedrockService does with a request: a completion, or a thrown failure. */
export type SeedBedrock = (req: SeedBedrockRequest) => Promise<string>;

export interface SeedLambda {
  url: string;
  /** Requests received: headers and the exact body text. */
  received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

/** An exception the seed Lambda catches as `IllegalArgumentException`-like (400) or not (500). */
export class SeedUnexpectedError extends Error {}

/**
 * The seed Lambda behind a non-proxy API Gateway integration, on a loopback port. `bedrock` plays
 * its BedrockService: throw an Error for a Bedrock failure (400 `Error: …`), a
 * {@link SeedUnexpectedError} for the 500 branch; `crash` answers Lambda's own function error.
 */
export async function startSeedLambda(bedrock: SeedBedrock, opts: { crash?: () => string | undefined } = {}): Promise<SeedLambda> {
  const received: SeedLambda['received'] = [];
  const answer = (res: http.ServerResponse, event: unknown) => {
    const text = JSON.stringify(event);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body: raw });
      void (async () => {
        const crashed = opts.crash?.();
        if (crashed) return answer(res, { errorMessage: crashed, errorType: 'java.lang.RuntimeException' });
        let event: { queryStringParameters?: Record<string, string> | null; requestContext?: { requestId?: string } | null };
        try {
          event = JSON.parse(raw) as typeof event;
        } catch (err) {
          // The Java runtime cannot deserialise the event: a function error, passed on with HTTP 200.
          return answer(res, {
            errorMessage: `com.fasterxml.jackson.core.JsonParseException: ${(err as Error).message}`,
            errorType: 'java.lang.RuntimeException',
          });
        }
        const requestId = event.requestContext?.requestId ?? 'unknown';
        const query = event.queryStringParameters?.query;
        if (query === undefined || query === null)
          return answer(res, { statusCode: 400, body: "Bad Request: Missing required 'query' parameter" });
        let completion: string;
        try {
          completion = (await bedrock(decodeSeedRequest(javaBase64Decode(query)))).trim();
        } catch (err) {
          if (err instanceof SeedUnexpectedError) return answer(res, { statusCode: 500, body: `Internal Server Error: ${err.message}` });
          return answer(res, { statusCode: 400, body: `Error: ${(err as Error).message}` });
        }
        const body = encodeSeedResponse({ outputText: completion }).toString('base64');
        return answer(res, { statusCode: 200, headers: { 'Content-Type': 'application/x-protobuf', 'X-Request-ID': requestId }, body });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/prod/generate`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
