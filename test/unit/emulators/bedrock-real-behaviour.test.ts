/**
 * The Bedrock behaviours the emulator reproduces from the real service, each driven through the
 * unmodified `@aws-sdk/client-bedrock-runtime`. Where each was read:
 * - exception classes and HTTP statuses: the SDK's model (node_modules/@aws-sdk/client-bedrock-runtime,
 *   dist-es/schemas/schemas_0.js: ServiceQuotaExceededException 400, ModelTimeoutException 408);
 * - stop reasons: dist-types/models/enums.d.ts `StopReason` (content_filtered, guardrail_intervened,
 *   malformed_model_output, ...);
 * - the over-cap and on-demand messages: Bedrock's wording as users report it (e.g. "The maximum
 *   tokens you requested exceeds the model limit of 2048. Try again with a maximum tokens value that
 *   is lower than 2048." and "Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with
 *   on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference
 *   profile that contains this model.");
 * - the blank text block message: Converse's ValidationException for `{ text: '' }`;
 * - an unknown model id: ValidationException "The provided model identifier is invalid." (HTTP 400),
 *   as reported from the real service in aws-samples/amazon-bedrock-workshop#315 and
 *   iOfficeAI/AionCore#377.
 */
import assert from 'node:assert/strict';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { INVALID_MODEL_ID_MESSAGE, startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';

const NOVA_MICRO = 'amazon.nova-micro-v1:0';
const SONNET4 = 'anthropic.claude-sonnet-4-20250514-v1:0';

type SdkError = Error & { $metadata?: { httpStatusCode?: number } };

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('expected the call to fail');
}

const input = (modelId: string, text: string, extra: Partial<ConverseCommandInput> = {}): ConverseCommandInput => ({
  modelId,
  messages: [{ role: 'user', content: [{ text }] }],
  ...extra,
});

describe('Bedrock emulator: real Bedrock behaviours through the unmodified SDK', () => {
  let emu: BedrockEmulatorHandle;
  let client: BedrockRuntimeClient;

  before(async () => {
    emu = await startBedrockEmulator();
    client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
  });
  afterEach(() => {
    emu.faults.reset();
    emu.tuning.msPerOutputToken = 0;
  });
  after(async () => {
    client.destroy();
    await emu.close();
  });

  it("refuses maxTokens above the model's output cap with Bedrock's ValidationException", async () => {
    const err = await rejection(client.send(new ConverseCommand(input(NOVA_MICRO, 'q', { inferenceConfig: { maxTokens: 8192 } }))));
    assert.equal(err.name, 'ValidationException');
    assert.equal(err.$metadata?.httpStatusCode, 400);
    assert.equal(
      err.message,
      'The maximum tokens you requested exceeds the model limit of 5000. Try again with a maximum tokens value that is lower than 5000.',
    );
    const ok = await client.send(new ConverseCommand(input(NOVA_MICRO, 'q', { inferenceConfig: { maxTokens: 5000 } })));
    assert.equal(ok.stopReason, 'end_turn');
  });

  it('applies the cap of the base model to an inference-profile id too', async () => {
    const err = await rejection(client.send(new ConverseCommand(input(`us.${SONNET4}`, 'q', { inferenceConfig: { maxTokens: 64_001 } }))));
    assert.match(err.message, /model limit of 64000/);
  });

  it('refuses a model that needs an inference profile by its bare id, and serves it by its us. profile id', async () => {
    const err = await rejection(client.send(new ConverseCommand(input(SONNET4, 'q'))));
    assert.equal(err.name, 'ValidationException');
    assert.equal(
      err.message,
      `Invocation of model ID ${SONNET4} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
    );
    const ok = await client.send(new ConverseCommand(input(`us.${SONNET4}`, 'q')));
    assert.equal(ok.stopReason, 'end_turn');
  });

  for (const reason of ['content_filtered', 'guardrail_intervened', 'malformed_model_output'] as const) {
    it(`answers 200 without text and stopReason ${reason} for the prompt marker [emulate:${reason}]`, async () => {
      const out = await client.send(new ConverseCommand(input(NOVA_MICRO, `tell me [emulate:${reason}] please`)));
      assert.equal(out.stopReason, reason);
      assert.deepEqual(out.output?.message?.content, []);
      assert.equal(out.usage?.outputTokens, 0);
    });
  }

  it('answers an empty end_turn for [emulate:empty]', async () => {
    const out = await client.send(new ConverseCommand(input(NOVA_MICRO, '[emulate:empty]')));
    assert.equal(out.stopReason, 'end_turn');
    assert.deepEqual(out.output?.message?.content, []);
  });

  it("refuses a blank text block in the history with Converse's message (why an empty answer must not go back)", async () => {
    const err = await rejection(
      client.send(
        new ConverseCommand({
          modelId: NOVA_MICRO,
          messages: [
            { role: 'user', content: [{ text: 'q' }] },
            { role: 'assistant', content: [{ text: '' }] },
            { role: 'user', content: [{ text: 'next' }] },
          ],
        }),
      ),
    );
    assert.equal(err.name, 'ValidationException');
    assert.match(err.message, /The text field in the ContentBlock object at messages\.1\.content\.0 is blank/);
  });

  it('ServiceQuotaExceededException arrives as HTTP 400 with its own class (not a throttle)', async () => {
    emu.faults.set({ faults: [{ kind: 'status', status: 400, errorType: 'ServiceQuotaExceededException', count: 1 }] });
    const err = await rejection(client.send(new ConverseCommand(input(NOVA_MICRO, 'q'))));
    assert.equal(err.name, 'ServiceQuotaExceededException');
    assert.equal(err.$metadata?.httpStatusCode, 400);
    assert.match(err.message, /service quota/);
  });

  it('ModelTimeoutException arrives as HTTP 408', async () => {
    emu.faults.set({ faults: [{ kind: 'status', status: 408, count: 1 }] });
    const err = await rejection(client.send(new ConverseCommand(input(NOVA_MICRO, 'q'))));
    assert.equal(err.name, 'ModelTimeoutException');
    assert.equal(err.$metadata?.httpStatusCode, 408);
  });

  it('[emulate:tokens=N] answers N words, cut at maxTokens', async () => {
    const long = await client.send(new ConverseCommand(input(NOVA_MICRO, 'essay [emulate:tokens=300]')));
    assert.equal(long.usage?.outputTokens, 300);
    assert.equal(long.stopReason, 'end_turn');
    const cut = await client.send(
      new ConverseCommand(input(NOVA_MICRO, 'essay [emulate:tokens=300]', { inferenceConfig: { maxTokens: 50 } })),
    );
    assert.equal(cut.usage?.outputTokens, 50);
    assert.equal(cut.stopReason, 'max_tokens');
  });

  it('takes msPerOutputToken per output token, so a long answer is slow', async function () {
    this.timeout(10_000);
    emu.tuning.msPerOutputToken = 5;
    let started = Date.now();
    await client.send(new ConverseCommand(input(NOVA_MICRO, 'essay [emulate:tokens=200]')));
    const slow = Date.now() - started;
    started = Date.now();
    await client.send(new ConverseCommand(input(NOVA_MICRO, 'essay [emulate:tokens=10]')));
    const fast = Date.now() - started;
    assert.ok(slow >= 1_000 && slow < 3_000, `200 tokens x 5 ms ~ 1 s, took ${slow} ms`);
    assert.ok(fast < 400, `10 tokens x 5 ms ~ 50 ms, took ${fast} ms`);
  });
});

describe('Bedrock emulator with unknownModels: refuse (npm start, the demo)', () => {
  let emu: BedrockEmulatorHandle;
  let client: BedrockRuntimeClient;
  before(async () => {
    emu = await startBedrockEmulator({ unknownModels: 'refuse' });
    client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
  });
  after(async () => {
    client.destroy();
    await emu.close();
  });

  for (const id of ['totally-bogus', 'anthropic.claude-haiku-9-9-v1:0', 'amazon.nova-mikro-v1:0']) {
    it(`answers ${id} as Bedrock answers an id it does not know: 400 ValidationException`, async () => {
      const err = await rejection(client.send(new ConverseCommand(input(id, 'Hi'))));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.$metadata?.httpStatusCode, 400);
      assert.equal(err.message, INVALID_MODEL_ID_MESSAGE);
    });
  }

  it('serves the ids the catalogue knows, in any form (bare, geo profile)', async () => {
    for (const id of [NOVA_MICRO, 'us.amazon.nova-lite-v1:0']) {
      const out = await client.send(new ConverseCommand(input(id, 'Hi')));
      assert.equal(out.stopReason, 'end_turn', id);
    }
  });
});
