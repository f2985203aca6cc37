/**
 * The local API Gateway host, production code and not a test double (`npm run gateway`, the role
 * entry points and `npm start` run it; lambda/in-process-gateway.ts pairs it with the handler):
 * a node:http server that turns each request into a Lambda proxy event (REST payload 1.0 or
 * HTTP API 2.0), runs the handler in-process and writes the proxy result back, with API
 * Gateway's binary rules:
 *
 * - Request: a body whose Content-Type is a binary media type (default `application/x-protobuf`,
 *   `application/octet-stream`) reaches the handler base64-encoded with `isBase64Encoded: true`;
 *   other bodies arrive as UTF-8 text. In `v2` (HTTP API) every non-text type counts as binary.
 * - Response: `isBase64Encoded: true` bodies are decoded to bytes — in `v1` only when the
 *   client's first Accept type is a binary media type (REST's rule; otherwise the base64 text
 *   is passed through), in `v2` always (HTTP API's rule).
 *
 * Also: `GET /health`, 413 beyond `maxBodyBytes`, and API Gateway's own answers, each with its
 * `x-amzn-ErrorType` header and `{"message": ...}` body ({@link GATEWAY_RESPONSES}):
 * - 403 `MissingAuthenticationTokenException` "Missing Authentication Token" for a path outside
 *   the stage or a method other than POST (the template deploys POST on `/` and `/{proxy+}` only);
 * - 403 `ForbiddenException` "Forbidden" without the right `x-api-key` (`apiKey`);
 * - 429 `TooManyRequestsException` "Too Many Requests" over the usage plan's rate/burst
 *   (`usagePlan.throttle`, a token bucket), 429 `LimitExceededException` "Limit Exceeded" over its
 *   quota (`usagePlan.quota`: requests per period, which do not come back for the period);
 * - 504 `InternalServerErrorException` "Endpoint request timed out" past the integration timeout
 *   (`integrationTimeoutMs`, GATEWAY_TIMEOUT_MS, 29 s by default);
 * - 502 `InternalServerErrorException` "Internal server error" when the Lambda throws, returns a
 *   malformed result or runs past its own Timeout (`functionTimeoutMs`; the Lambda log line then
 *   says `Task timed out after N.NN seconds`, passed to `lambdaLog`).
 * `inject(type, count)` makes the next calls get one of these answers (as a fault).
 * Sources (read 2026-12-02): API Gateway developer guide, "Gateway response types"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html:
 * MISSING_AUTHENTICATION_TOKEN 403, INVALID_API_KEY 403, QUOTA_EXCEEDED 429, THROTTLED 429,
 * INTEGRATION_TIMEOUT 504, default body `{"message":$context.error.messageString}`); the
 * `x-amzn-ErrorType` values and messages as LocalStack reproduces them from AWS
 * (localstack/localstack, services/apigateway/next_gen/execute_api/gateway_response.py and
 * integrations/aws.py, 2026-03-23); re:Post "api-gateway-429-limit" ("Limit Exceeded" = usage-plan
 * quota, "Too Many Requests" = throttle).
 * Not from the real service but for this host's own safety (SECURITY.md): it refuses to start off
 * loopback without `apiKey` (unless `allowUnauthenticated`), compares the key in constant time, and
 * answers 403 to any request from a web page (`Origin`, or a browser's `Sec-Fetch-Site`).
 *
 * @example
 * const gw = await startLocalGateway({ handler: createHandler({ converse }), port: 0 });
 * await axios.post(gw.url, base64Body, { headers: { 'content-type': 'application/x-protobuf' } });
 * await gw.close();
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler as defaultHandler } from './handler';
import { refuseOpenBind } from '../shared/bind-guard';
import { safeEqual } from '../shared/safe-equal';
import type { ProxyEvent, ProxyEventV1, ProxyEventV2, ProxyHandler, ProxyResult } from './proxy-types';

/** Options of {@link startLocalGateway}; every field has a default. */
export interface LocalGatewayOptions {
  /** Port; default 0 (a free port). `npm run gateway` uses GATEWAY_PORT. */
  port?: number;
  /** Interface; default `127.0.0.1`. */
  host?: string;
  /** The Lambda handler; default the module's `handler` (config from the environment). */
  handler?: ProxyHandler;
  /** Event format: `v1` REST API (default) or `v2` HTTP API. */
  format?: 'v1' | 'v2';
  /** Stage name; when set, paths must start with `/<stage>` (REST style). Default none. */
  stage?: string;
  /** Largest request body in bytes (API Gateway's limit is 10 MB). Default 10485760. */
  maxBodyBytes?: number;
  /** Binary media types (request and, in v1, response). Default x-protobuf and octet-stream. */
  binaryMediaTypes?: string[];
  /** When set, requests must carry this `x-api-key` (403 otherwise). Default none. */
  apiKey?: string;
  /**
   * Serve off loopback without `apiKey` (ALLOW_UNAUTHENTICATED). Default false: a gateway bound
   * off loopback without a key refuses to start, as it would be an open Bedrock proxy on the
   * host's role (shared/bind-guard.ts).
   */
  allowUnauthenticated?: boolean;
  /** Integration timeout in ms (GATEWAY_TIMEOUT_MS); the handler's context reports the time left. Default 29000. */
  integrationTimeoutMs?: number;
  /** The Lambda's own Timeout in ms: past it the call ends 502 (Lambda killed it). Default: none. */
  functionTimeoutMs?: number;
  /** Where the Lambda's own log lines go (`Task timed out after ...`). Default: dropped. */
  lambdaLog?: (line: string) => void;
  /** The API key's usage plan (with `apiKey`, or for every caller without one). Default: no limits. */
  usagePlan?: {
    /** Requests per `periodMs` (API Gateway: per day, week or month). */
    quota?: { limit: number; periodMs?: number };
    /** Steady requests per second and bucket size. */
    throttle?: { rateLimit: number; burstLimit: number };
  };
}

/** The gateway responses the emulator gives, as API Gateway gives them (sources above). */
export const GATEWAY_RESPONSES = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
  INVALID_API_KEY: { status: 403, errorType: 'ForbiddenException', message: 'Forbidden' },
  THROTTLED: { status: 429, errorType: 'TooManyRequestsException', message: 'Too Many Requests' },
  QUOTA_EXCEEDED: { status: 429, errorType: 'LimitExceededException', message: 'Limit Exceeded' },
  INTEGRATION_TIMEOUT: { status: 504, errorType: 'InternalServerErrorException', message: 'Endpoint request timed out' },
  LAMBDA_FAILED: { status: 502, errorType: 'InternalServerErrorException', message: 'Internal server error' },
} as const;
export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;

/** A running local gateway. */
export interface LocalGateway {
  /** Base URL including the stage, e.g. `http://127.0.0.1:3001/dev` (no trailing slash). */
  url: string;
  port: number;
  /** Gateway responses given so far, by type. */
  responses: Partial<Record<GatewayResponseType, number>>;
  /** The next `count` calls (default 1) get this gateway response instead of reaching the Lambda. */
  inject(type: GatewayResponseType, count?: number): void;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_BINARY_TYPES = ['application/x-protobuf', 'application/octet-stream'];
const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/;

class BodyTooLarge extends Error {}

function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

function matchesType(type: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    if (p === '*/*') return type !== '';
    if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
    return p.toLowerCase() === type;
  });
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendGatewayResponse(res: ServerResponse, type: GatewayResponseType, counts?: Partial<Record<GatewayResponseType, number>>): void {
  const r = GATEWAY_RESPONSES[type];
  if (counts) counts[type] = (counts[type] ?? 0) + 1;
  sendJson(res, r.status, { message: r.message }, { 'x-amzn-ErrorType': r.errorType, 'x-amzn-RequestId': randomUUID() });
}

function singleHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

/**
 * Starts the local API Gateway host and resolves once it listens.
 */
export async function startLocalGateway(opts: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const handler = opts.handler ?? defaultHandler;
  const format = opts.format ?? 'v1';
  const stage = opts.stage?.replace(/^\/+|\/+$/g, '') || undefined;
  const maxBodyBytes = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const binaryTypes = opts.binaryMediaTypes ?? DEFAULT_BINARY_TYPES;
  const integrationTimeoutMs = opts.integrationTimeoutMs ?? 29_000;
  refuseOpenBind({
    what: 'local API Gateway host',
    hostKey: 'HOST',
    host: opts.host ?? '127.0.0.1',
    keyName: 'API_GATEWAY_API_KEY',
    keySet: opts.apiKey !== undefined,
    allowUnauthenticated: opts.allowUnauthenticated === true,
  });
  const injected: GatewayResponseType[] = [];
  const responses: Partial<Record<GatewayResponseType, number>> = {};
  /** Timers of calls in flight, cleared on close so a hung handler holds nothing. */
  const pending = new Set<NodeJS.Timeout>();
  const plan = opts.usagePlan;
  const bucket = { tokens: plan?.throttle?.burstLimit ?? 0, at: Date.now() };
  const quota = { used: 0, periodStart: Date.now() };

  /** The usage plan's verdict on one more request: throttled, over quota, or admitted (counted). */
  function usagePlanVerdict(): GatewayResponseType | undefined {
    const now = Date.now();
    if (plan?.throttle) {
      const { rateLimit, burstLimit } = plan.throttle;
      bucket.tokens = Math.min(burstLimit, bucket.tokens + ((now - bucket.at) / 1000) * rateLimit);
      bucket.at = now;
      if (bucket.tokens < 1) return 'THROTTLED';
    }
    if (plan?.quota) {
      const period = plan.quota.periodMs ?? 86_400_000;
      if (now - quota.periodStart >= period) Object.assign(quota, { used: 0, periodStart: now });
      if (quota.used >= plan.quota.limit) return 'QUOTA_EXCEEDED';
      quota.used += 1;
    }
    if (plan?.throttle) bucket.tokens -= 1;
    return undefined;
  }

  const isBinaryRequest = (contentType: string): boolean =>
    format === 'v2' ? contentType !== '' && !TEXT_TYPE.test(contentType) : matchesType(contentType, binaryTypes);

  function buildEvent(req: IncomingMessage, url: URL, resourcePath: string, body: Buffer): ProxyEvent {
    const headers = singleHeaders(req);
    const binary = body.length > 0 && isBinaryRequest(mediaType(headers['content-type']));
    const payload = body.length === 0 ? (format === 'v2' ? undefined : null) : binary ? body.toString('base64') : body.toString('utf8');
    const requestId = randomUUID();
    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
    if (format === 'v2') {
      const event: ProxyEventV2 = {
        version: '2.0',
        routeKey: '$default',
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        isBase64Encoded: binary,
        requestContext: {
          requestId,
          stage: stage ?? '$default',
          http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp },
        },
      };
      if (payload !== undefined && payload !== null) event.body = payload;
      return event;
    }
    const event: ProxyEventV1 = {
      resource: '/{proxy+}',
      httpMethod: req.method ?? 'GET',
      path: resourcePath,
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
      body: payload ?? null,
      isBase64Encoded: binary,
      requestContext: {
        requestId,
        stage: stage ?? 'local',
        path: url.pathname,
        identity: { sourceIp, apiKey: headers['x-api-key'] ?? null },
      },
    };
    return event;
  }

  function writeResult(req: IncomingMessage, res: ServerResponse, result: ProxyResult): void {
    if (res.headersSent) return;
    if (typeof result !== 'object' || result === null || !Number.isInteger(result.statusCode)) {
      // API Gateway's answer to a malformed Lambda proxy response.
      sendGatewayResponse(res, 'LAMBDA_FAILED', responses);
      return;
    }
    const { statusCode } = result;
    const firstAccept = mediaType((req.headers.accept ?? '').split(',')[0]);
    const decode = result.isBase64Encoded === true && (format === 'v2' || matchesType(firstAccept, binaryTypes));
    const bytes = decode ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '', 'utf8');
    res.writeHead(statusCode, { ...(result.headers ?? {}), 'content-length': bytes.length });
    res.end(bytes);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.local');
    if (req.method === 'GET' && url.pathname === '/health') {
      sendJson(res, 200, { status: 'ok', format, stage: stage ?? null });
      return;
    }
    let resourcePath = url.pathname;
    if (stage) {
      if (resourcePath !== `/${stage}` && !resourcePath.startsWith(`/${stage}/`)) {
        // Another stage, or none: no deployed route matches.
        req.resume();
        sendGatewayResponse(res, 'MISSING_AUTHENTICATION_TOKEN', responses);
        return;
      }
      resourcePath = resourcePath.slice(stage.length + 1) || '/';
    }
    // Its clients are the cloud workers and the producer (no browser): a request with an Origin
    // or a cross-site fetch mark is a web page's, e.g. a DNS-rebinding one. Refused before the body.
    const fetchSite = req.headers['sec-fetch-site'];
    if (req.headers.origin !== undefined || (fetchSite !== undefined && fetchSite !== 'none')) {
      req.resume();
      sendGatewayResponse(res, 'INVALID_API_KEY', responses);
      return;
    }
    if (req.method !== 'POST') {
      // The template deploys POST only: another method matches no route.
      req.resume();
      sendGatewayResponse(res, 'MISSING_AUTHENTICATION_TOKEN', responses);
      return;
    }
    const givenKey = req.headers['x-api-key'];
    if (opts.apiKey !== undefined && (typeof givenKey !== 'string' || !safeEqual(givenKey, opts.apiKey))) {
      req.resume();
      sendGatewayResponse(res, 'INVALID_API_KEY', responses);
      return;
    }
    const fault = injected.shift() ?? usagePlanVerdict();
    if (fault) {
      req.resume();
      sendGatewayResponse(res, fault, responses);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        sendJson(res, 413, { message: 'Request Too Long' }, { connection: 'close' });
        req.resume();
        return;
      }
      throw err;
    }
    const event = buildEvent(req, url, resourcePath, body);
    const deadline = Date.now() + integrationTimeoutMs;
    const context = {
      awsRequestId: randomUUID(),
      functionName: 'local-gateway',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const fnTimeoutMs = opts.functionTimeoutMs;
    const fnDeadline = fnTimeoutMs === undefined ? deadline : Math.min(deadline, Date.now() + fnTimeoutMs);
    context.getRemainingTimeInMillis = () => Math.max(0, fnDeadline - Date.now());
    const timers: NodeJS.Timeout[] = [];
    const after = <T>(ms: number, value: T) =>
      new Promise<T>((resolve) => {
        const t = setTimeout(() => resolve(value), ms);
        timers.push(t);
        pending.add(t);
      });
    const limits: Promise<'timeout' | 'killed'>[] = [after(integrationTimeoutMs, 'timeout' as const)];
    if (fnTimeoutMs !== undefined && fnTimeoutMs < integrationTimeoutMs) limits.push(after(fnTimeoutMs, 'killed' as const));
    try {
      const outcome = await Promise.race([handler(event, context), ...limits]);
      if (outcome === 'timeout') sendGatewayResponse(res, 'INTEGRATION_TIMEOUT', responses);
      else if (outcome === 'killed') {
        // Lambda's own line for a function past its Timeout; API Gateway then answers 502.
        opts.lambdaLog?.(
          `${new Date().toISOString()} ${context.awsRequestId} Task timed out after ${(fnTimeoutMs! / 1000).toFixed(2)} seconds`,
        );
        sendGatewayResponse(res, 'LAMBDA_FAILED', responses);
      } else writeResult(req, res, outcome);
    } catch {
      // A Lambda that throws: API Gateway answers 502 with this fixed body.
      sendGatewayResponse(res, 'LAMBDA_FAILED', responses);
    } finally {
      for (const t of timers) {
        clearTimeout(t);
        pending.delete(t);
      }
    }
  }

  const server = http.createServer((req, res) => {
    serve(req, res).catch(() => sendJson(res, 500, { message: 'Internal server error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${port}${stage ? `/${stage}` : ''}`,
    port,
    responses,
    inject(type, count = 1) {
      for (let i = 0; i < count; i++) injected.push(type);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
