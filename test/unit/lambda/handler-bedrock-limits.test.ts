/**
 * The Lambda handler against Bedrock's real limits: output caps, the default `maxTokens`, models
 * that need an inference profile, and a Bedrock call deadline that fits API Gateway's 29 s
 * (with the SAM template and the worker's timeout agreeing with it). Real SDK, Bedrock emulator.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { decodeResponseBase64, type LlmResponse } from '../../../proto/codec';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { bedrockCallBudgetMs, createHandler } from '../../../lambda/handler';
import type { ProxyHandler, ProxyResult } from '../../../lambda/proxy-types';
import { v1Event } from '../../helpers/proxy-events';

const NOVA_MICRO = 'amazon.nova-micro-v1:0';
const SONNET4 = 'anthropic.claude-sonnet-4-20250514-v1:0';

function reply(result: ProxyResult, status: number): LlmResponse {
  const res = decodeResponseBase64(result.body);
  assert.equal(result.statusCode, status, `expected ${status}, got ${result.statusCode}: ${JSON.stringify(res.error ?? res.outputText)}`);
  return res;
}

describe('lambda handler: Bedrock limits (caps, default maxTokens, inference profiles, deadline)', function () {
  this.timeout(20_000);
  let emu: BedrockEmulatorHandle;
  let handler: ProxyHandler;
  const calls = () => emu.stats().byRoute.converse ?? 0;

  before(async () => {
    emu = await startBedrockEmulator();
    // Built from config as in AWS: DEFAULT_MAX_TOKENS (1024) is sent when a request names none.
    handler = createHandler({
      config: loadConfig({ BEDROCK_ENDPOINT: emu.url, BEDROCK_MODEL_ID: NOVA_MICRO, LOG_LEVEL: 'silent' }),
      logger: silentLogger,
    });
  });
  afterEach(() => {
    emu.faults.reset();
    emu.tuning.msPerOutputToken = 0;
  });
  after(async () => {
    await emu.close();
  });

  it("refuses max_tokens above the model's cap with 400 naming the field and the cap, without calling Bedrock", async () => {
    const before = calls();
    const res = reply(await handler(v1Event({ request: { inputText: 'q', parameters: { max_tokens: '8192' } } })), 400);
    assert.equal(res.error?.code, 'invalid_request');
    assert.match(
      res.error!.message,
      /^parameters\.max_tokens 8192 is above the output cap of amazon\.nova-micro-v1:0 \(Amazon Nova Micro\): at most 5000$/,
    );
    assert.equal(calls() - before, 0);
  });

  it('sends DEFAULT_MAX_TOKENS (1024) when the request names none, so a long answer is cut there', async () => {
    const res = reply(await handler(v1Event({ request: { inputText: 'essay [emulate:tokens=3000]' } })), 200);
    assert.equal(res.outputTokens, 1024);
    assert.equal(res.stopReason, 'max_tokens');
  });

  it('a model that needs an inference profile fails at once with 400 telling which id to use', async () => {
    const res = reply(await handler(v1Event({ request: { inputText: 'q', modelId: SONNET4 } })), 400);
    assert.equal(res.error?.code, 'inference_profile_required');
    assert.match(res.error!.message, /with on-demand throughput isn't supported/);
    assert.match(res.error!.message, new RegExp(`use its id, e\\.g\\. us\\.${SONNET4.replace(/\./g, '\\.')}`));
    assert.ok(!res.error!.retryable);
    assert.equal(reply(await handler(v1Event({ request: { inputText: 'q', modelId: `us.${SONNET4}` } })), 200).modelId, `us.${SONNET4}`);
  });

  it('an answer without text comes back 200 with its stop reason (the worker ends the conversation)', async () => {
    const res = reply(await handler(v1Event({ request: { inputText: 'x [emulate:content_filtered]' } })), 200);
    assert.equal(res.outputText ?? '', '');
    assert.equal(res.stopReason, 'content_filtered');
  });

  it('answers its own 504 with a message when Bedrock outlasts the call budget, even without a Lambda context', async () => {
    const quick = createHandler({
      config: loadConfig({ BEDROCK_ENDPOINT: emu.url, BEDROCK_MODEL_ID: NOVA_MICRO, LOG_LEVEL: 'silent' }),
      logger: silentLogger,
      callBudgetMs: 400,
    });
    emu.tuning.msPerOutputToken = 10; // 300 tokens: ~3 s, far beyond the 400 ms budget
    const started = Date.now();
    const res = reply(await quick(v1Event({ request: { inputText: 'essay [emulate:tokens=300]' } })), 504);
    assert.equal(res.error?.code, 'upstream_timeout');
    assert.equal(res.error?.retryable, true);
    assert.ok(Date.now() - started < 1_500, `answered at the budget (took ${Date.now() - started} ms)`);
  });

  it('the deployed path follows one setting: the template, the Lambda budget and the worker timeout all derive from GATEWAY_TIMEOUT_MS', () => {
    // Regional REST APIs may raise the integration timeout above 29 s since June 2024
    // (https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-api-gateway-integration-timeout-limit-29-seconds/, read 2026-12-02).
    const template = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'deploy', 'template.yaml'), 'utf8');
    const defaultSeconds = Number(/GatewayTimeoutSeconds:\s*\n\s*Type: Number\s*\n\s*Default: (\d+)/.exec(template)?.[1]);
    assert.equal(defaultSeconds * 1000, loadConfig({}).gatewayTimeoutMs, "the template default is GATEWAY_TIMEOUT_MS's default");
    const integration = [...template.matchAll(/TimeoutInMillis: (.+)/g)].map((m) => m[1]!.trim());
    assert.ok(
      integration.length === 2 && integration.every((v) => /^!Sub '\$\{GatewayTimeoutSeconds\}000'$/.test(v)),
      `integration timeouts follow the parameter: ${integration.join(', ')}`,
    );
    assert.match(template, /Timeout: !Ref GatewayTimeoutSeconds/, 'the Lambda timeout follows it');
    assert.match(template, /GATEWAY_TIMEOUT_MS: !Sub '\$\{GatewayTimeoutSeconds\}000'/, 'the Lambda reads it');
    assert.doesNotMatch(template, /TimeoutInMillis: \d/, 'no fixed cap remains');
    for (const ms of [29_000, 60_000, 180_000]) {
      const config = loadConfig({ GATEWAY_TIMEOUT_MS: String(ms) });
      assert.ok(bedrockCallBudgetMs(ms) < ms, 'the Bedrock budget ends before the gateway gives up');
      assert.equal(config.apiGatewayTimeoutMs, ms + 1000, 'the worker waits just longer than the gateway');
    }
    assert.equal(bedrockCallBudgetMs(29_000), 27_000, 'the default budget is unchanged');
    assert.equal(
      loadConfig({ GATEWAY_TIMEOUT_MS: '60000', API_GATEWAY_TIMEOUT_MS: '45000' }).apiGatewayTimeoutMs,
      45_000,
      'an explicit worker timeout wins',
    );
  });
});
