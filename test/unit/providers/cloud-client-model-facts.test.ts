/**
 * The cloud client (axios → local API Gateway → the real Lambda handler → real SDK → Bedrock
 * emulator with the fixture catalogue) carries what the Lambda reports about an answer: a
 * truncating Converse stop reason (`max_tokens`, `model_context_window_exceeded`: SDK 3.1163
 * `StopReason`) becomes `reply.truncated`, the reasoning tokens and the parameters left out pass
 * on, and the omissions learned for the model asked are sent with the call.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { startLocalGateway, type LocalGateway } from '../../../lambda/local-gateway';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { createHandler } from '../../../lambda/handler';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';
import type { LlmProvider } from '../../../providers/llm-provider';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { loadModelCatalog } from '../../../shared/model-catalog';

const FIXTURE = path.join(__dirname, '../../fixtures/model-catalog-quirks.json');

describe('cloud client: truncated, reasoning and omitted parameters from the Lambda', function () {
  this.timeout(20_000);
  let emu: BedrockEmulatorHandle;
  let gateway: LocalGateway;
  let cloud: LlmProvider;

  before(async () => {
    emu = await startBedrockEmulator({ catalog: loadModelCatalog(FIXTURE) });
    // The Lambda knows only the shipped catalogue: the fixture models are unknown to it.
    gateway = await startLocalGateway({
      handler: createHandler({
        config: loadConfig({ BEDROCK_ENDPOINT: emu.url, BEDROCK_MODEL_ID: 'example.plain-v1', LOG_LEVEL: 'silent' }),
        logger: silentLogger,
      }),
    });
    cloud = createApiGatewayClient({ url: gateway.url, timeoutMs: 10_000 });
  });
  afterEach(() => emu.faults.resetStats());
  after(async () => {
    await gateway.close();
    await emu.close();
  });

  it('max_tokens and model_context_window_exceeded set truncated; end_turn does not', async () => {
    const cut = await cloud.generate({ prompt: 'essay [emulate:tokens=500]', maxTokens: 8 });
    assert.equal(cut.stopReason, 'max_tokens');
    assert.equal(cut.truncated, true);
    const window = await cloud.generate({ prompt: 'essay [emulate:tokens=500]', model: 'example.small-context-v1', maxTokens: 100 });
    assert.equal(window.stopReason, 'model_context_window_exceeded');
    assert.equal(window.truncated, true);
    const whole = await cloud.generate({ prompt: 'short one' });
    assert.equal(whole.stopReason, 'end_turn');
    assert.equal(whole.truncated, undefined);
  });

  it('reasoning tokens pass on; an answer that spent its budget reasoning is empty text', async () => {
    const reply = await cloud.generate({ prompt: 'Why?', model: 'example.reasoner-v1', maxTokens: 16 });
    assert.equal(reply.text, '');
    assert.equal(reply.reasoningTokens, 16);
    assert.equal(reply.reasoningTokensEstimated, false);
    assert.equal(reply.truncated, true);
  });

  it('a rejected temperature comes back as omitted and rejected; the learned omission is sent for the model asked only', async () => {
    const model = 'example.no-temperature-v1';
    const first = await cloud.generate({ prompt: 'Hi', model, temperature: 0.5 });
    assert.deepEqual(first.omittedParameters, ['temperature']);
    assert.deepEqual(first.rejectedParameters, ['temperature']);
    assert.equal(emu.stats().byModel[model], 2);
    const learned = await cloud.generate({
      prompt: 'Hi',
      model,
      temperature: 0.5,
      learnedOmissions: { [model]: ['temperature'], other: ['system'] },
    });
    assert.deepEqual(learned.omittedParameters, ['temperature']);
    assert.equal(learned.rejectedParameters, undefined);
    assert.equal(emu.stats().byModel[model], 3, 'one call: nothing rejected');
  });
});
