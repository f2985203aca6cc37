/**
 * API Gateway's own answers, reproduced by the local gateway (lambda/local-gateway.ts)
 * with their `x-amzn-ErrorType` header and `{"message"}` body, and classified by the real cloud
 * client (axios): each gets its own code, retry policy and a hint naming the setting to fix.
 *
 * Sources (read 2026-12-02): API Gateway developer guide, "Gateway response types"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html):
 * MISSING_AUTHENTICATION_TOKEN 403, INVALID_API_KEY 403, QUOTA_EXCEEDED 429, THROTTLED 429,
 * INTEGRATION_TIMEOUT 504; the header values and messages as localstack/localstack reproduces AWS
 * (services/apigateway/next_gen/execute_api/gateway_response.py: MissingAuthenticationTokenException,
 * ForbiddenException "Forbidden", LimitExceededException, TooManyRequestsException,
 * InternalServerErrorException; integrations/aws.py: 502 "Internal server error" for a failed Lambda);
 * re:Post knowledge-center "api-gateway-429-limit" ("Limit Exceeded": the usage plan's quota;
 * "Too Many Requests": its throttle); the Lambda's `Task timed out after N.NN seconds` log line.
 */
import assert from 'node:assert/strict';
import axios from 'axios';
import { GATEWAY_RESPONSES, startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../../lambda/local-gateway';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';
import { encodeResponseBase64 } from '../../../proto/codec';
import type { ProviderError } from '../../../shared/errors';
import type { ProxyHandler } from '../../../lambda/proxy-types';

/** A Lambda that answers a protobuf reply (base64, as ours does). */
const okHandler: ProxyHandler = async () => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/x-protobuf' },
  isBase64Encoded: true,
  body: encodeResponseBase64({ outputText: 'fine', modelId: 'm', stopReason: 'end_turn' }),
});

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    return err as ProviderError;
  }
  throw new Error('expected a rejection');
}

describe("API Gateway's own errors: emulated exactly, classified by the cloud client", function () {
  this.timeout(10_000);
  const open: LocalGateway[] = [];
  const start = async (opts: LocalGatewayOptions) => {
    const gw = await startLocalGateway({ port: 0, handler: okHandler, stage: 'v1', ...opts });
    open.push(gw);
    return gw;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((gw) => gw.close()));
  });

  it('every gateway response carries its x-amzn-ErrorType and {"message"} body', async () => {
    const gw = await start({});
    for (const [type, want] of Object.entries(GATEWAY_RESPONSES)) {
      gw.inject(type as keyof typeof GATEWAY_RESPONSES);
      const res = await axios.post(`${gw.url}/generate`, 'aGk=', { validateStatus: () => true });
      assert.equal(res.status, want.status, type);
      assert.equal(res.headers['x-amzn-errortype'], want.errorType, type);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.deepEqual(res.data, { message: want.message }, type);
    }
  });

  it('wrong stage: 403 Missing Authentication Token → gateway_route_not_found, permanent, naming API_GATEWAY_URL and its stage', async () => {
    const gw = await start({});
    const err = await rejection(
      createApiGatewayClient({ url: gw.url.replace(/\/v1$/, '/prod/generate'), timeoutMs: 5_000 }).generate({ prompt: 'x' }),
    );
    assert.equal(err.status, 403);
    assert.equal(err.code, 'gateway_route_not_found');
    assert.equal(err.retryable, false);
    assert.match(
      err.message,
      /^API Gateway answered 403: Missing Authentication Token \(no deployed POST method matches .*API_GATEWAY_URL's stage and path/,
    );
    assert.match(err.message, /API_GATEWAY_SIGV4=true/, 'an unsigned call to an IAM API answers the same');
    // A method the API does not deploy answers the same.
    const get = await axios.get(`${gw.url}/generate`, { validateStatus: () => true });
    assert.equal(get.status, 403);
    assert.equal(get.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
  });

  it('missing or wrong API key: 403 Forbidden → gateway_forbidden, permanent, naming API_GATEWAY_API_KEY', async () => {
    const gw = await start({ apiKey: 'k-right' });
    const none = await rejection(createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
    assert.equal(none.code, 'gateway_forbidden');
    assert.equal(none.retryable, false);
    assert.match(none.message, /^API Gateway answered 403: Forbidden \(the API requires an API key: set API_GATEWAY_API_KEY/);
    const wrong = await rejection(
      createApiGatewayClient({ url: `${gw.url}/generate`, apiKey: 'k-wrong', timeoutMs: 5_000 }).generate({ prompt: 'x' }),
    );
    assert.equal(wrong.code, 'gateway_forbidden');
    assert.match(wrong.message, /the API key sent \(API_GATEWAY_API_KEY\) is not a valid key/);
    const ok = await createApiGatewayClient({ url: `${gw.url}/generate`, apiKey: 'k-right', timeoutMs: 5_000 }).generate({ prompt: 'x' });
    assert.equal(ok.text, 'fine');
  });

  it('usage-plan quota: 429 Limit Exceeded → gateway_quota_exceeded, permanent (a quota lasts its period: no fleet pause)', async () => {
    const gw = await start({ usagePlan: { quota: { limit: 2 } } });
    const client = createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: 5_000 });
    await client.generate({ prompt: 'x' });
    await client.generate({ prompt: 'x' });
    const err = await rejection(client.generate({ prompt: 'x' }));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'gateway_quota_exceeded');
    assert.equal(err.retryable, false);
    assert.match(
      err.message,
      /^API Gateway answered 429: Limit Exceeded \(the usage plan's request quota for API_GATEWAY_API_KEY is used up/,
    );
  });

  it('usage-plan throttle: 429 Too Many Requests → gateway_throttled, retryable (the fleet-wide pause)', async () => {
    const gw = await start({ usagePlan: { throttle: { rateLimit: 1, burstLimit: 1 } } });
    const client = createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: 5_000 });
    await client.generate({ prompt: 'x' });
    const err = await rejection(client.generate({ prompt: 'x' }));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'gateway_throttled');
    assert.equal(err.retryable, true);
    assert.match(err.message, /^API Gateway answered 429: Too Many Requests \(over the stage's or usage plan's rate\/burst limit/);
  });

  it('integration timeout: 504 Endpoint request timed out → gateway_timeout, retryable, naming GATEWAY_TIMEOUT_MS', async () => {
    const gw = await start({ handler: () => new Promise(() => undefined), integrationTimeoutMs: 200 });
    const err = await rejection(createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
    assert.equal(err.status, 504);
    assert.equal(err.code, 'gateway_timeout');
    assert.equal(err.retryable, true);
    assert.match(
      err.message,
      /^API Gateway answered 504: Endpoint request timed out \(API Gateway's integration timeout cut the call: raise GATEWAY_TIMEOUT_MS/,
    );
  });

  it('a Lambda that crashed or ran past its Timeout: 502 Internal server error → lambda_failed; the Lambda log says "Task timed out after"', async () => {
    const crashed = await start({
      handler: async () => {
        throw new Error('boom');
      },
    });
    const a = await rejection(createApiGatewayClient({ url: `${crashed.url}/generate`, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
    assert.equal(a.status, 502);
    assert.equal(a.code, 'lambda_failed');
    assert.equal(a.retryable, true);
    assert.match(a.message, /^API Gateway answered 502: Internal server error \(the Lambda crashed or ran past its Timeout/);
    const lines: string[] = [];
    const slow = await start({ handler: () => new Promise(() => undefined), functionTimeoutMs: 150, lambdaLog: (l) => lines.push(l) });
    const b = await rejection(createApiGatewayClient({ url: `${slow.url}/generate`, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
    assert.equal(b.code, 'lambda_failed');
    assert.match(lines.join('\n'), /Task timed out after 0\.15 seconds/);
  });

  it('our own client timeout names API_GATEWAY_TIMEOUT_MS', async () => {
    const gw = await start({ handler: () => new Promise(() => undefined) });
    const err = await rejection(createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: 150 }).generate({ prompt: 'x' }));
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /timed out after 150 ms \(API_GATEWAY_TIMEOUT_MS/);
  });
});
