/**
 * The whole cloud path with real parts only: axios cloud client → local API Gateway (node:http)
 * → Lambda handler in-process → real @aws-sdk/client-bedrock-runtime → Bedrock emulator.
 * The seed's own client and Lambda (its JSON envelope) are in test/integration/seed-compat.test.ts.
 */
import assert from 'node:assert/strict';
import { startBedrockEmulator, type EmulatorHandle } from '../../emulators/bedrock-emulator';
import { createBedrockConverse } from '../../bedrock/bedrock-client';
import { createHandler } from '../../lambda/handler';
import { startLocalGateway, type LocalGateway } from '../../lambda/local-gateway';
import { ProviderError } from '../../shared/errors';
import type { LlmProvider } from '../../providers/llm-provider';
import { silentLogger } from '../../shared/logger';
import { createApiGatewayClient } from '../../providers/api-gateway-client';

const DEFAULT_MODEL = 'amazon.nova-micro-v1:0';
const API_KEY = 'test-api-key-1';

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

for (const format of ['v1', 'v2'] as const) {
  describe(`cloud path through a ${format === 'v1' ? 'REST (v1)' : 'HTTP API (v2)'} local gateway`, () => {
    let emu: EmulatorHandle;
    let gateway: LocalGateway;
    let cloud: LlmProvider;

    before(async () => {
      emu = await startBedrockEmulator({ port: 0 });
      const converse = createBedrockConverse({
        region: 'us-east-1',
        endpoint: emu.url,
        defaultModelId: DEFAULT_MODEL,
        requestTimeoutMs: 10_000,
      });
      gateway = await startLocalGateway({
        port: 0,
        format,
        stage: 'prod',
        apiKey: API_KEY,
        handler: createHandler({ converse, logger: silentLogger }),
      });
      cloud = createApiGatewayClient({ url: `${gateway.url}/generate`, apiKey: API_KEY, timeoutMs: 5_000 });
    });
    afterEach(() => emu.faults.reset());
    after(async () => {
      await gateway.close();
      await emu.close();
    });

    it('a call goes through to Bedrock and comes back as a reply', async () => {
      const reply = await cloud.generate({
        prompt: 'How do Redis streams work?',
        system: 'Answer in one paragraph.',
        history: [
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Hi, ask away.' },
        ],
        temperature: 0.4,
        maxTokens: 500,
        conversationId: 'conv-42',
        turn: 2,
      });
      assert.match(reply.text, /^\[emulated bedrock amazon\.nova-micro-v1:0\] .*How do Redis streams work\?/);
      assert.equal(reply.model, DEFAULT_MODEL);
      assert.equal(reply.stopReason, 'end_turn');
      assert.ok(reply.inputTokens > 0 && reply.outputTokens > 0);
      assert.ok(reply.latencyMs >= 0);
    });

    it('the model named by the call reaches Bedrock', async () => {
      const reply = await cloud.generate({ prompt: 'Which model?', model: 'amazon.nova-pro-v1:0' });
      assert.equal(reply.model, 'amazon.nova-pro-v1:0');
      assert.match(reply.text, /^\[emulated bedrock amazon\.nova-pro-v1:0\]/);
    });

    it('the x-api-key is sent: without it the gateway refuses with a permanent 403', async () => {
      const noKey = createApiGatewayClient({ url: `${gateway.url}/generate`, timeoutMs: 5_000 });
      const err = await rejection(noKey.generate({ prompt: 'let me in' }));
      assert.equal(err.status, 403);
      assert.equal(err.retryable, false);
      assert.match(err.message, /Forbidden/);
    });

    it('a hung Bedrock call is cut off by the client timeout as a retryable timeout', async () => {
      emu.faults.set({ faults: [{ kind: 'hang' }] });
      const started = Date.now();
      const err = await rejection(cloud.generate({ prompt: 'hang please', timeoutMs: 300 }));
      assert.equal(err.code, 'timeout');
      assert.equal(err.retryable, true);
      assert.notEqual(err.name, 'AbortError');
      assert.ok(Date.now() - started < 2_000, 'the timeout really cut the call');
    });

    it('Bedrock throttling arrives as a retryable 429 with the provider message', async () => {
      emu.faults.set({ faults: [{ kind: 'status', status: 429 }] });
      const err = await rejection(cloud.generate({ prompt: 'too fast' }));
      assert.equal(err.status, 429);
      assert.equal(err.retryable, true);
      assert.equal(err.code, 'throttled');
      assert.match(err.message, /ThrottlingException: Too many requests/);
    });

    it('Bedrock unavailable arrives as a retryable 503', async () => {
      emu.faults.set({ faults: [{ kind: 'status', status: 503 }] });
      const err = await rejection(cloud.generate({ prompt: 'anyone?' }));
      assert.equal(err.status, 503);
      assert.equal(err.retryable, true);
    });

    it('a Bedrock ValidationException is permanent and carries the provider message', async () => {
      emu.faults.set({
        faults: [{ kind: 'validation', message: 'The model returned the following errors: prompt is too long for this model.' }],
      });
      const err = await rejection(cloud.generate({ prompt: 'long' }));
      assert.equal(err.status, 400);
      assert.equal(err.retryable, false);
      assert.match(err.message, /ValidationException: The model returned the following errors: prompt is too long for this model\./);
    });

    it('a parameter out of range is refused before Bedrock, naming the field', async () => {
      const calls = (emu.stats() as { calls: number }).calls;
      const err = await rejection(cloud.generate({ prompt: 'hot', temperature: 1.7 }));
      assert.equal(err.status, 400);
      assert.equal(err.retryable, false);
      assert.match(err.message, /parameters\.temperature must be a number between 0 and 1/);
      assert.equal((emu.stats() as { calls: number }).calls, calls);
    });

    it('an abort (cancel, deadline) is distinguishable from a timeout', async () => {
      emu.faults.set({ faults: [{ kind: 'hang' }] });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('conversation cancelled')), 150);
      const err = await rejection(cloud.generate({ prompt: 'cancel me', signal: ac.signal, timeoutMs: 5_000 }));
      assert.equal(err.name, 'AbortError');
      assert.equal(err.code, 'aborted');
      assert.equal(err.retryable, false);
    });
  });
}

describe('cloud path through a REST API without binary media types', () => {
  let emu: EmulatorHandle;
  let gateway: LocalGateway;

  before(async () => {
    emu = await startBedrockEmulator({ port: 0 });
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: DEFAULT_MODEL });
    gateway = await startLocalGateway({
      port: 0,
      format: 'v1',
      binaryMediaTypes: [],
      handler: createHandler({ converse, logger: silentLogger }),
    });
  });
  after(async () => {
    await gateway.close();
    await emu.close();
  });

  it('our client still works: base64 text both ways', async () => {
    const reply = await createApiGatewayClient({ url: gateway.url, timeoutMs: 5_000 }).generate({ prompt: 'Text only API?' });
    assert.match(reply.text, /Text only API\?/);
  });
});
