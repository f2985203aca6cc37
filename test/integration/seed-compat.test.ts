/**
 * Seed compatibility, both directions, with the seed's exact bytes on its side (its own schema,
 * test/fixtures/seed-messages.proto; where each detail was read: test/helpers/seed-system.ts):
 *
 * 1. the seed's client → our local API Gateway (REST v1 and HTTP API v2, stage `prod`, path
 *    `/generate` as in the seed's application.conf) → our Lambda → real SDK → Bedrock emulator;
 * 2. our cloud client with `API_GATEWAY_ENVELOPE=seed` → a seed-shaped Lambda behind a non-proxy
 *    integration (loopback HTTP server), including its plain-text errors;
 * 3. our cloud client with `seed` → our own Lambda through the local gateway.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBedrockEmulator, type EmulatorHandle } from '../../emulators/bedrock-emulator';
import { createBedrockConverse } from '../../bedrock/bedrock-client';
import { createHandler } from '../../lambda/handler';
import { startLocalGateway, type LocalGateway } from '../../lambda/local-gateway';
import { loadConfig } from '../../shared/config';
import { ProviderError } from '../../shared/errors';
import type { LlmProvider } from '../../providers/llm-provider';
import { silentLogger } from '../../shared/logger';
import { createApiGatewayClient } from '../../providers/api-gateway-client';
import { createGatewayBackend } from '../../providers/create-providers';
import {
  decodeSeedRequest,
  javaBase64Decode,
  SeedUnexpectedError,
  seedClientGenerate,
  startSeedLambda,
  type SeedBedrockRequest,
  type SeedLambda,
} from '../helpers/seed-system';

const DEFAULT_MODEL = 'amazon.nova-micro-v1:0';

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

const GATEWAYS: Array<[string, Parameters<typeof startLocalGateway>[0]]> = [
  ['REST (v1) with binary media types', { format: 'v1', stage: 'prod' }],
  ['REST (v1) without binary media types', { format: 'v1', stage: 'prod', binaryMediaTypes: [] }],
  ['HTTP API (v2)', { format: 'v2', stage: 'prod' }],
];

describe('seed compatibility: the seed client and the seed Lambda against ours', () => {
  let emu: EmulatorHandle;
  const calls = () => (emu.stats() as { calls: number }).calls;

  before(async () => {
    emu = await startBedrockEmulator({ port: 0 });
  });
  afterEach(() => emu.faults.reset());
  after(async () => {
    await emu.close();
  });

  for (const [name, gatewayOpts] of GATEWAYS) {
    describe(`our Lambda behind a local ${name} gateway`, () => {
      let gateway: LocalGateway;
      /** The body of each event the Lambda received, API Gateway's base64 envelope removed. */
      const bodies: string[] = [];

      before(async () => {
        const converse = createBedrockConverse({
          region: 'us-east-1',
          endpoint: emu.url,
          defaultModelId: DEFAULT_MODEL,
          requestTimeoutMs: 10_000,
        });
        const handler = createHandler({ converse, logger: silentLogger });
        gateway = await startLocalGateway({
          port: 0,
          ...gatewayOpts,
          handler: (event, context) => {
            const body = (event as { body?: string | null }).body ?? '';
            bodies.push(event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body);
            return handler(event, context);
          },
        });
      });
      after(async () => {
        await gateway.close();
      });

      it("the seed's client, exact request, gets its BedrockResponse from one Bedrock call", async () => {
        const before = calls();
        const result = await seedClientGenerate(`${gateway.url}/generate`, 'Seed question?', { temperature: 0.7, maxTokens: 150 });
        assert.equal(calls() - before, 1);
        assert.equal(result.httpStatus, 200);
        assert.equal(result.envelope.statusCode, 200);
        assert.match(result.response.outputText, /^\[emulated bedrock amazon\.nova-micro-v1:0\] .*Seed question\?/);
        assert.deepEqual(result.response.tokens, result.response.outputText.split(/\s+/).filter(Boolean));
      });

      it("a bad parameter reaches the seed's client as a 400 with its envelope and the seed's wording", async () => {
        const err = (await seedClientGenerate(`${gateway.url}/generate`, 'hot', { temperature: 3 }).then(
          () => assert.fail('the seed client should fail'),
          (e: unknown) => e,
        )) as { httpStatus: number; text: string };
        assert.equal(err.httpStatus, 400);
        const envelope = JSON.parse(err.text) as { statusCode: number; body: string };
        assert.equal(envelope.statusCode, 400);
        assert.match(envelope.body, /^Bad Request: parameters\.temperature must be a number between 0 and 1/);
      });

      it('our cloud client with envelope "seed" gets the full reply (ours is a superset of BedrockResponse)', async () => {
        const cloud = createApiGatewayClient({ url: `${gateway.url}/generate`, timeoutMs: 5_000, envelope: 'seed' });
        const reply = await cloud.generate({ prompt: 'Through the seed envelope?', model: 'amazon.nova-lite-v1:0', maxTokens: 400 });
        assert.match(
          bodies.at(-1) ?? '',
          /^\{"queryStringParameters":\{"query":"[A-Za-z0-9+/]+={0,2}"\},"requestContext":\{"requestId":"[0-9a-f-]{36}"\}\}$/,
          "the seed's JSON went over the wire",
        );
        assert.match(reply.text, /^\[emulated bedrock amazon\.nova-lite-v1:0\] .*Through the seed envelope\?/);
        assert.equal(reply.model, 'amazon.nova-lite-v1:0');
        assert.ok(reply.inputTokens > 0 && reply.outputTokens > 0);
      });

      it('our cloud client with envelope "seed": a refused parameter is permanent, a throttle retryable', async () => {
        const cloud = createApiGatewayClient({ url: `${gateway.url}/generate`, timeoutMs: 5_000, envelope: 'seed' });
        const bad = await rejection(cloud.generate({ prompt: 'hot', temperature: 1.7 }));
        assert.equal(bad.status, 400);
        assert.equal(bad.retryable, false);
        assert.match(bad.message, /Bad Request: parameters\.temperature must be a number between 0 and 1/);
        emu.faults.set({ faults: [{ kind: 'status', status: 429 }] });
        const throttled = await rejection(cloud.generate({ prompt: 'fast' }));
        assert.equal(throttled.status, 429);
        assert.equal(throttled.retryable, true);
        assert.match(throttled.message, /Error: ThrottlingException: Too many requests/);
      });
    });
  }

  describe('our cloud client with envelope "seed" → a seed-shaped Lambda (non-proxy integration)', () => {
    let lambda: SeedLambda;
    let next: (req: SeedBedrockRequest) => Promise<string>;
    let crash: string | undefined;
    let cloud: LlmProvider;

    before(async () => {
      lambda = await startSeedLambda((req) => next(req), { crash: () => crash });
      cloud = createApiGatewayClient({ url: lambda.url, timeoutMs: 5_000, envelope: 'seed' });
    });
    beforeEach(() => {
      lambda.received.length = 0;
      crash = undefined;
      next = async (req) => `  seed answer to: ${req.inputText} (max ${req.parameters.max_tokens}, t ${req.parameters.temperature})  `;
    });
    after(async () => {
      await lambda.close();
    });

    it("sends the seed's JSON request and reads the seed's envelope", async () => {
      const reply = await cloud.generate({ prompt: 'Hello seed', temperature: 0.4, maxTokens: 300 });
      assert.equal(reply.text, 'seed answer to: Hello seed (max 300, t 0.4)');
      assert.equal(reply.outputTokens, 0, 'the seed answers no token counts');
      const [sent] = lambda.received;
      assert.ok(sent);
      assert.equal(sent.headers['content-type'], 'application/x-protobuf');
      const json = JSON.parse(sent.body) as { queryStringParameters: { query: string }; requestContext: { requestId: string } };
      assert.deepEqual(Object.keys(json), ['queryStringParameters', 'requestContext']);
      assert.deepEqual(Object.keys(json.queryStringParameters), ['query']);
      assert.match(json.requestContext.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const req = decodeSeedRequest(javaBase64Decode(json.queryStringParameters.query));
      assert.equal(req.inputText, 'Hello seed');
      assert.deepEqual(req.parameters, { temperature: '0.4', max_tokens: '300' });
    });

    it('an empty completion (the seed trims it; an empty BedrockResponse is body "") comes back as empty text', async () => {
      next = async () => '  \n ';
      const reply = await cloud.generate({ prompt: 'say nothing' });
      assert.equal(reply.text, '');
      assert.equal(reply.stopReason, 'unknown');
    });

    it('a 200 envelope whose body is not base64 protobuf is permanent invalid_protobuf', async () => {
      const server = http.createServer((_req, res) => res.end(JSON.stringify({ statusCode: 200, headers: {}, body: 'not base64!' })));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/generate`;
        const err = await rejection(createApiGatewayClient({ url, timeoutMs: 5_000, envelope: 'seed' }).generate({ prompt: 'x' }));
        assert.equal(err.code, 'invalid_protobuf');
        assert.equal(err.retryable, false);
        assert.match(
          err.message,
          /answered 200 with a body that is not base64 of a protobuf LlmResponse \(11 characters\)/,
          "the envelope's body was read",
        );
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('the worker builds it from API_GATEWAY_ENVELOPE=seed', async () => {
      const config = loadConfig({ API_GATEWAY_URL: lambda.url, API_GATEWAY_ENVELOPE: 'seed', LOG_LEVEL: 'silent' });
      const reply = await createGatewayBackend(config).generate({ prompt: 'From config' });
      assert.match(reply.text, /^seed answer to: From config/);
    });

    it('a Bedrock failure the seed reports as 400 "Error: …" is permanent, with its text', async () => {
      next = async () => {
        throw new Error('Malformed input request: expected maxLength: 8192 (Service: BedrockRuntime, Status Code: 400, Request ID: 3f1c)');
      };
      const err = await rejection(cloud.generate({ prompt: 'x' }));
      assert.equal(err.status, 400);
      assert.equal(err.retryable, false);
      assert.match(err.message, /Lambda answered 400: Error: Malformed input request/);
    });

    it('a Bedrock throttle the seed reports as 400 "Error: … Status Code: 429" is retryable', async () => {
      next = async () => {
        throw new Error(
          'Too many requests, please wait before trying again. (Service: BedrockRuntime, Status Code: 429, Request ID: 9a2b)',
        );
      };
      const err = await rejection(cloud.generate({ prompt: 'x' }));
      assert.equal(err.status, 400);
      assert.equal(err.retryable, true);
    });

    it('the seed\'s 500 "Internal Server Error: …" is retryable', async () => {
      next = async () => {
        throw new SeedUnexpectedError('java.lang.NullPointerException');
      };
      const err = await rejection(cloud.generate({ prompt: 'x' }));
      assert.equal(err.status, 500);
      assert.equal(err.retryable, true);
      assert.match(err.message, /Internal Server Error: java\.lang\.NullPointerException/);
    });

    it("Lambda's own function error (timeout, crash), passed on with HTTP 200, is retryable", async () => {
      crash = '2026-11-30T16:00:00.000Z 3f1c Task timed out after 30.03 seconds';
      const err = await rejection(cloud.generate({ prompt: 'x' }));
      assert.equal(err.code, 'lambda_error');
      assert.equal(err.retryable, true);
      assert.match(err.message, /Task timed out/);
    });

    it('with the default envelope "proxy", the failure tells the user to set API_GATEWAY_ENVELOPE=seed', async () => {
      const proxy = createApiGatewayClient({ url: lambda.url, timeoutMs: 5_000 });
      const err = await rejection(proxy.generate({ prompt: 'x' }));
      assert.equal(err.retryable, false);
      assert.match(err.message, /set API_GATEWAY_ENVELOPE=seed/);
    });
  });
});
