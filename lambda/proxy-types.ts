/**
 * The API Gateway Lambda proxy shapes the handler accepts and returns (the subset we use, kept
 * here so the bundle needs no `@types/aws-lambda`).
 */

export type HeaderMap = Record<string, string | undefined>;

/** REST API (payload format 1.0) proxy event. */
export interface ProxyEventV1 {
  version?: '1.0';
  resource?: string;
  httpMethod: string;
  /** Resource path, without the stage. */
  path: string;
  headers?: HeaderMap | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: HeaderMap | null;
  body: string | null;
  isBase64Encoded: boolean;
  requestContext?: {
    requestId?: string;
    stage?: string;
    path?: string;
    identity?: { sourceIp?: string; apiKey?: string | null };
  };
}

/** HTTP API (payload format 2.0) proxy event. */
export interface ProxyEventV2 {
  version: '2.0';
  routeKey?: string;
  /** Path as sent, including the stage unless it is `$default`. */
  rawPath: string;
  rawQueryString?: string;
  cookies?: string[];
  /** Lower-case names; repeated headers joined with commas. */
  headers?: HeaderMap;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    requestId?: string;
    stage?: string;
    http: { method: string; path?: string; protocol?: string; sourceIp?: string };
  };
}

export type ProxyEvent = ProxyEventV1 | ProxyEventV2;

/** What the handler returns; the same shape serves both payload formats. */
export interface ProxyResult {
  statusCode: number;
  headers?: Record<string, string>;
  /** Text, or base64 of the bytes when `isBase64Encoded` is true. */
  body: string;
  isBase64Encoded?: boolean;
}

/** The parts of the Lambda context the handler uses (all optional, so tests can omit it). */
export interface LambdaContext {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
}

/** The AWS Lambda handler signature (async style). */
export type ProxyHandler = (event: ProxyEvent, context?: LambdaContext) => Promise<ProxyResult>;
