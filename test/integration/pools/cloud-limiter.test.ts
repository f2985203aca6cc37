/**
 * The per-model token-per-minute limiter, fleet-wide in Redis (coordination/cloud-limiter.ts): three
 * processes calling one model through the real cloud path (cloud client → local API Gateway →
 * Lambda handler → real Bedrock client → Bedrock emulator enforcing a tokens-per-minute quota).
 * Bedrock reserves input + maxTokens at the start of a request and settles to the real usage at
 * its end, answering 429 ThrottlingException "Too many tokens, please wait before trying again."
 * beyond the quota (AWS Bedrock user guide, quotas-token-burndown.md and quotas-runtime.md); the
 * emulator does the same.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { startLocalGateway, type LocalGateway } from '../../../lambda/local-gateway';
import { createHandler } from '../../../lambda/handler';
import { createBedrockConverse } from '../../../bedrock/bedrock-client';
import { silentLogger } from '../../../shared/logger';
import { ProviderError } from '../../../shared/errors';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';
import { createLimitedCloudProvider } from '../../../providers/limited-cloud-provider';
import { CloudLimiter } from '../../../coordination/cloud-limiter';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

const MODEL = 'amazon.nova-micro-v1:0';
const FIXTURE = path.join(__dirname, 'fixtures', 'cloud-caller.ts');

function runCaller(env: Record<string, string>, ms: number, parallel: number, maxTokens: number): Promise<Record<string, unknown>> {
  const child = fork(FIXTURE, [String(ms), String(parallel), String(maxTokens)], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'done') resolve(m);
      if (m.type === 'fatal') reject(new Error(String(m.message)));
      // Its figures are in: the caller has nothing left to do (and must not keep the test process alive).
      if (m.type === 'done' || m.type === 'fatal') child.kill('SIGKILL');
    });
    child.on('exit', (code) => reject(new Error(`caller exited ${code} before it was done`)));
  });
}

describe('cloud token-per-minute limiter (CLOUD_LIMITS) across processes', function () {
  this.timeout(60_000);
  let emu: BedrockEmulatorHandle;
  let gateway: LocalGateway;
  let redis: Redis;

  beforeEach(async () => {
    emu = await startBedrockEmulator({ port: 0, latencyMs: 20 });
    const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: MODEL, requestTimeoutMs: 10_000 });
    gateway = await startLocalGateway({ port: 0, handler: createHandler({ converse, logger: silentLogger }) });
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await gateway.close();
    await emu.close();
    redis.disconnect();
  });

  it('three processes together stay within the quota and use it (no 429)', async () => {
    const quota = 4000;
    emu.quotas.tokensPerMinute[MODEL] = quota;
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('tpm'),
      API_GATEWAY_URL: gateway.url,
      BEDROCK_MODEL_ID: MODEL,
      CLOUD_LIMITS: JSON.stringify({ [MODEL]: { tpm: quota } }),
      LOG_LEVEL: 'silent',
    };
    const results = await Promise.all([0, 1, 2].map(() => runCaller(env, 6000, 4, 40)));
    const ok = results.reduce((n, r) => n + Number(r.ok), 0);
    const throttled = results.reduce((n, r) => n + Number(r.throttled), 0);
    for (const r of results) assert.equal(r.failed, 0, JSON.stringify(r.errors));
    const admitted = emu.quotas.admittedTokens[MODEL] ?? 0;
    assert.equal(throttled, 0, `${throttled} of ${ok + throttled} calls were answered 429`);
    assert.equal(emu.quotas.throttled[MODEL] ?? 0, 0);
    assert.ok(admitted <= quota, `Bedrock admitted ${admitted} tokens, quota ${quota}`);
    assert.ok(admitted >= 0.9 * quota, `the fleet used ${admitted} of the ${quota}-token quota in the window`);
  });

  it('without the limiter the same load is answered 429 beyond the quota (the emulator enforces it)', async () => {
    emu.quotas.tokensPerMinute[MODEL] = 1000;
    const cloud = createApiGatewayClient({ url: gateway.url, timeoutMs: 5_000 });
    const replies = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => cloud.generate({ prompt: `question ${i}`, model: MODEL, maxTokens: 40 })),
    );
    const throttled = replies.filter((r) => r.status === 'rejected' && (r.reason as ProviderError).status === 429);
    assert.ok(throttled.length > 0, 'some calls were throttled');
    assert.match(String((throttled[0] as PromiseRejectedResult).reason.message), /Too many tokens/);
  });

  it('a 429 lowers the effective limit fleet-wide, and successes bring it back', async () => {
    const limiter = new CloudLimiter(redis, uniquePrefix('tpm'), { decreaseEveryMs: 0, increase: 0.1 });
    assert.equal(await limiter.tune(MODEL, 'throttled'), 0.7);
    assert.ok(Math.abs((await limiter.tune(MODEL, 'throttled')) - 0.49) < 1e-9);
    // At 0.49 of rpm 4, only one request fits in the window.
    assert.equal(await limiter.reserve(MODEL, { rpm: 4 }, 'a', 1), 0);
    assert.ok((await limiter.reserve(MODEL, { rpm: 4 }, 'b', 1)) > 0);
    for (let i = 0; i < 6; i++) await limiter.tune(MODEL, 'ok');
    assert.equal(await limiter.tune(MODEL, 'ok'), 1);
    assert.equal(await limiter.reserve(MODEL, { rpm: 4 }, 'c', 1), 0);
  });

  it("429s the limiter did not foresee (a quota below CLOUD_LIMITS) lower the model's effective limit", async () => {
    // The emulator's quota is below the limiter's: the limiter only learns it from the 429s.
    emu.quotas.tokensPerMinute[MODEL] = 400;
    const limiter = new CloudLimiter(redis, uniquePrefix('tpm'));
    const cloud = createLimitedCloudProvider({
      inner: createApiGatewayClient({ url: gateway.url, timeoutMs: 5_000 }),
      limiter,
      limits: { [MODEL]: { tpm: 100_000 } },
      defaultModel: MODEL,
      defaultMaxTokens: 40,
      maxThrottleRetries: 1,
    });
    const replies = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => cloud.generate({ prompt: `q${i}`, maxTokens: 40, signal: AbortSignal.timeout(3000) })),
    );
    assert.ok((emu.quotas.throttled[MODEL] ?? 0) > 0, 'Bedrock throttled some calls');
    const factor = Number(await redis.hget(`${(limiter as unknown as { prefix: string }).prefix}${MODEL}:aimd`, 'factor'));
    assert.ok(factor < 1, `the effective limit came down (factor ${factor})`);
    assert.ok(replies.some((r) => r.status === 'fulfilled'));
  });
});
