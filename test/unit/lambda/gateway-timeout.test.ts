/**
 * One timeout for the deployment (GATEWAY_TIMEOUT_MS): the local gateway's integration timeout,
 * the Lambda's Bedrock budget (the setting minus 2 s) and the worker client's timeout (the setting
 * plus 1 s) all follow it, as the SAM template's GatewayTimeoutSeconds does in AWS. Regional and
 * private REST APIs may raise the integration timeout above 29 s since June 2024
 * (https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-api-gateway-integration-timeout-limit-29-seconds/,
 * read 2026-12-02). Real handler, real SDK, Bedrock emulator with output latency, real client.
 */
import assert from 'node:assert/strict';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';
import { loadConfig } from '../../../shared/config';
import type { ProviderError } from '../../../shared/errors';
import { silentLogger } from '../../../shared/logger';
import { startInProcessGateway } from '../../../lambda/in-process-gateway';

describe("GATEWAY_TIMEOUT_MS: a slow model against the deployment's one timeout", function () {
  this.timeout(20_000);
  let emu: BedrockEmulatorHandle;
  before(async () => {
    emu = await startBedrockEmulator();
    emu.tuning.msPerOutputToken = 10; // 150 tokens: about 1.5 s, a slow model's long answer
  });
  after(async () => {
    await emu.close();
  });

  async function callThrough(gatewayTimeoutMs: number) {
    const config = loadConfig({ BEDROCK_ENDPOINT: emu.url, GATEWAY_TIMEOUT_MS: String(gatewayTimeoutMs), LOG_LEVEL: 'silent' });
    const gw = await startInProcessGateway({ config, logger: silentLogger });
    try {
      const client = createApiGatewayClient({ url: `${gw.url}/generate`, timeoutMs: config.apiGatewayTimeoutMs });
      return await client.generate({ prompt: 'A long essay [emulate:tokens=150]' }).then(
        (reply) => ({ reply, err: undefined }),
        (err: ProviderError) => ({ reply: undefined, err }),
      );
    } finally {
      await gw.close();
    }
  }

  it("fails with a message naming GATEWAY_TIMEOUT_MS when the answer outlasts the Lambda's budget", async () => {
    const { err } = await callThrough(2500); // budget 500 ms
    assert.ok(err, 'the call failed');
    assert.equal(err.status, 504);
    assert.equal(err.code, 'upstream_timeout');
    assert.match(err.message, /Bedrock call timed out/);
    assert.match(
      err.message,
      /the Lambda gives Bedrock 500 ms: GATEWAY_TIMEOUT_MS=2500 minus 2000 ms; for a slower model raise GATEWAY_TIMEOUT_MS/,
    );
  });

  it("completes once GATEWAY_TIMEOUT_MS is raised above the model's latency", async () => {
    const { reply, err } = await callThrough(4000); // budget 2000 ms
    assert.equal(err, undefined, err?.message);
    assert.equal(reply?.outputTokens, 150);
  });
});
