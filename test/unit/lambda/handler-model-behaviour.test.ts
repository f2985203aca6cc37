/**
 * The Lambda handler against what models do today (real SDK, Bedrock emulator driven by a fixture
 * catalogue, test/fixtures/model-catalog-quirks.json):
 * - reasoning: Converse answers can hold `reasoningContent` blocks (SDK 3.1163 `ContentBlock`
 *   `ReasoningContentMember`, `ReasoningContentBlock.reasoningText {text, signature}`); only text
 *   blocks are the answer, the reasoning is counted, and a small `maxTokens` spent on reasoning
 *   gives no text and `stopReason: max_tokens`;
 * - truncation: `max_tokens` and `model_context_window_exceeded` (SDK `StopReason` enum) pass on;
 * - parameters a model rejects (bedrock/parameter-rejection.ts has the sources of each message):
 *   left out when the catalogue says so, retried once without them when Bedrock names them,
 *   reported in `omitted_parameters` / `rejected_parameters`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { REJECTION_MESSAGES, startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { decodeResponseBase64, type LlmRequest, type LlmResponse } from '../../../proto/codec';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { loadModelCatalog } from '../../../shared/model-catalog';
import { createHandler } from '../../../lambda/handler';
import type { ProxyHandler, ProxyResult } from '../../../lambda/proxy-types';
import { v1Event } from '../../helpers/proxy-events';

const FIXTURE = path.join(__dirname, '../../fixtures/model-catalog-quirks.json');
/** An ordinary model of the fixture (the tests never depend on the shipped rows' lifecycle). */
const PLAIN = 'example.plain-v1';
const NO_TEMP = 'example.no-temperature-v1';
const NO_PAIR = 'example.no-pair-v1';
const NO_SYSTEM = 'example.no-system-v1';
const REASONER = 'example.reasoner-v1';
const SMALL_CONTEXT = 'example.small-context-v1';

function reply(result: ProxyResult, status: number): LlmResponse {
  const res = decodeResponseBase64(result.body);
  assert.equal(result.statusCode, status, `expected ${status}, got ${result.statusCode}: ${JSON.stringify(res.error ?? res.outputText)}`);
  return res;
}

describe('lambda handler: reasoning, truncation and parameters a model rejects (real SDK, emulator)', function () {
  this.timeout(20_000);
  let emu: BedrockEmulatorHandle;
  /** The Lambda with the fixture catalogue: it knows what each fixture model rejects. */
  let knowing: ProxyHandler;
  /** The Lambda with the shipped catalogue only: the fixture models are unknown to it. */
  let unknowing: ProxyHandler;
  const callsOf = (model: string) => emu.stats().byModel[model] ?? 0;
  const call = (h: ProxyHandler, request: LlmRequest) => h(v1Event({ request }));

  before(async () => {
    emu = await startBedrockEmulator({ catalog: loadModelCatalog(FIXTURE) });
    const env = { BEDROCK_ENDPOINT: emu.url, BEDROCK_MODEL_ID: PLAIN, LOG_LEVEL: 'silent' };
    knowing = createHandler({ config: loadConfig({ ...env, MODEL_CATALOG_FILE: FIXTURE }), logger: silentLogger });
    unknowing = createHandler({ config: loadConfig(env), logger: silentLogger });
  });
  afterEach(() => emu.faults.resetStats());
  after(async () => {
    await emu.close();
  });

  describe('the emulator reproduces the rejections (what the Lambda must avoid)', () => {
    it("answers each with a ValidationException in Bedrock's words", async () => {
      const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
      const { NodeHttpHandler } = await import('@smithy/node-http-handler');
      const client = new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: emu.url,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        requestHandler: new NodeHttpHandler(),
        maxAttempts: 1,
      });
      const messages = [{ role: 'user' as const, content: [{ text: 'hi' }] }];
      const cases: [string, object, string][] = [
        [NO_TEMP, { inferenceConfig: { temperature: 0.5 } }, REJECTION_MESSAGES.temperature],
        [NO_PAIR, { inferenceConfig: { temperature: 0.5, topP: 0.9 } }, REJECTION_MESSAGES.temperatureWithTopP],
        [NO_SYSTEM, { system: [{ text: 'be brief' }] }, REJECTION_MESSAGES.system],
      ];
      for (const [modelId, extra, message] of cases) {
        const err = await client.send(new ConverseCommand({ modelId, messages, ...extra })).then(
          () => undefined,
          (e: Error) => e,
        );
        assert.equal(err?.name, 'ValidationException', modelId);
        assert.equal(err?.message, message);
      }
      // A reasoning model's answer: a reasoningContent block (reasoningText with a signature), then the text.
      const out = await client.send(new ConverseCommand({ modelId: REASONER, messages, inferenceConfig: { maxTokens: 300 } }));
      const content = out.output?.message?.content ?? [];
      assert.deepEqual(
        content.map((b) => Object.keys(b).filter((k) => (b as unknown as Record<string, unknown>)[k] !== undefined)[0]),
        ['reasoningContent', 'text'],
      );
      assert.match(content[0]!.reasoningContent!.reasoningText!.text!, /emulated reasoning/);
      assert.ok(content[0]!.reasoningContent!.reasoningText!.signature);
      const spent = await client.send(new ConverseCommand({ modelId: REASONER, messages, inferenceConfig: { maxTokens: 10 } }));
      assert.equal(spent.stopReason, 'max_tokens');
      assert.deepEqual(
        spent.output?.message?.content?.map((b) => 'text' in b && b.text !== undefined),
        [false],
        'no text block at all',
      );
      client.destroy();
    });
  });

  describe('parameters a model rejects', () => {
    it('a temperature the catalogue says the model rejects is left out and reported, in one Bedrock call', async () => {
      const res = reply(await call(knowing, { inputText: 'Hello?', modelId: NO_TEMP, parameters: { temperature: '0.7' } }), 200);
      assert.match(res.outputText, /emulated bedrock/);
      assert.deepEqual(res.omittedParameters, ['temperature']);
      assert.equal(res.rejectedParameters, undefined);
      assert.equal(callsOf(NO_TEMP), 1);
    });

    it('for a model the catalogue does not know, a rejection naming temperature is retried once without it and reported as rejected', async () => {
      const res = reply(await call(unknowing, { inputText: 'Hello?', modelId: NO_TEMP, parameters: { temperature: '0.7' } }), 200);
      assert.deepEqual(res.omittedParameters, ['temperature']);
      assert.deepEqual(res.rejectedParameters, ['temperature']);
      assert.equal(callsOf(NO_TEMP), 2);
    });

    it('what the fleet learned (omit_parameters) is left out from the first call', async () => {
      const res = reply(
        await call(unknowing, {
          inputText: 'Hello?',
          modelId: NO_TEMP,
          parameters: { temperature: '0.7' },
          omitParameters: ['temperature'],
        }),
        200,
      );
      assert.deepEqual(res.omittedParameters, ['temperature']);
      assert.equal(res.rejectedParameters, undefined);
      assert.equal(callsOf(NO_TEMP), 1);
    });

    it('temperature with top_p: top_p is dropped, the temperature kept (retry for an unknown model)', async () => {
      const res = reply(
        await call(unknowing, { inputText: 'Hello?', modelId: NO_PAIR, parameters: { temperature: '0.7', top_p: '0.9' } }),
        200,
      );
      assert.deepEqual(res.rejectedParameters, ['top_p']);
      assert.equal(callsOf(NO_PAIR), 2);
      const known = reply(
        await call(knowing, { inputText: 'Hello?', modelId: NO_PAIR, parameters: { temperature: '0.7', top_p: '0.9' } }),
        200,
      );
      assert.deepEqual(known.omittedParameters, ['top_p']);
      assert.equal(callsOf(NO_PAIR), 3);
    });

    it('a system prompt the model rejects is folded into the first user message', async () => {
      const res = reply(
        await call(knowing, { inputText: 'What is a stream?', modelId: NO_SYSTEM, systemPrompt: 'Answer as a pirate.' }),
        200,
      );
      assert.deepEqual(res.omittedParameters, ['system']);
      // The emulator quotes the last user message: here the only one, which now starts with the system prompt.
      assert.match(res.outputText, /You asked: "Answer as a pirate\. What is a stream\?"/);
      const learned = reply(
        await call(unknowing, { inputText: 'What is a stream?', modelId: NO_SYSTEM, systemPrompt: 'Answer as a pirate.' }),
        200,
      );
      assert.deepEqual(learned.rejectedParameters, ['system']);
    });

    it('a model that accepts everything gets every parameter (nothing omitted)', async () => {
      const res = reply(await call(knowing, { inputText: 'Hello?', parameters: { temperature: '0.7' }, systemPrompt: 'be brief' }), 200);
      assert.equal(res.omittedParameters, undefined);
      assert.equal(callsOf(PLAIN), 1);
    });

    it('a rejection that persists after leaving the parameter out still fails, as a 400', async () => {
      emu.faults.set({ faults: [{ kind: 'validation', message: REJECTION_MESSAGES.temperature, count: 2 }] });
      const res = reply(await call(unknowing, { inputText: 'Hello?', parameters: { temperature: '0.7' } }), 400);
      assert.equal(res.error?.code, 'parameter_rejected');
      assert.match(res.error!.message, /rejects `temperature`.*MODEL_CATALOG_FILE/);
      assert.equal(callsOf(PLAIN), 2, 'one retry, never a loop');
      emu.faults.reset();
    });
  });

  describe('reasoning models', () => {
    it('with room, the answer is the text block only and the reasoning is counted (estimated)', async () => {
      const res = reply(
        await call(knowing, { inputText: 'Why is the sky blue?', modelId: REASONER, parameters: { max_tokens: '500' } }),
        200,
      );
      assert.match(res.outputText, /^\[emulated bedrock example\.reasoner-v1\]/);
      assert.doesNotMatch(res.outputText, /emulated reasoning/);
      assert.equal(res.stopReason, 'end_turn');
      assert.ok(
        res.reasoningTokens! > 0 && res.reasoningTokens! < res.outputTokens!,
        `reasoning ${res.reasoningTokens} of ${res.outputTokens}`,
      );
      assert.equal(res.reasoningTokensEstimated, true);
    });

    it('a small maxTokens spent on reasoning gives no text, max_tokens, and every output token counted as reasoning (exact)', async () => {
      const res = reply(
        await call(knowing, { inputText: 'Why is the sky blue?', modelId: REASONER, parameters: { max_tokens: '20' } }),
        200,
      );
      assert.equal(res.outputText, '');
      assert.equal(res.stopReason, 'max_tokens');
      assert.equal(res.outputTokens, 20);
      assert.equal(res.reasoningTokens, 20);
      assert.equal(res.reasoningTokensEstimated, undefined, 'proto3 leaves a false bool out: exact');
    });

    it("the catalogue's larger default maxTokens is sent when the request names none", async () => {
      const res = reply(await call(knowing, { inputText: 'essay [emulate:tokens=5000]', modelId: REASONER }), 200);
      assert.equal(res.outputTokens, 2048, "the fixture row's defaultMaxTokens, not DEFAULT_MAX_TOKENS (1024)");
      assert.equal(res.stopReason, 'max_tokens');
    });
  });

  describe('truncation passes on', () => {
    it('max_tokens at the cap the request gives', async () => {
      const res = reply(await call(knowing, { inputText: 'essay [emulate:tokens=500]', parameters: { max_tokens: '10' } }), 200);
      assert.equal(res.stopReason, 'max_tokens');
      assert.equal(res.outputTokens, 10);
    });

    it('model_context_window_exceeded when the answer does not fit after the input', async () => {
      const res = reply(
        await call(knowing, { inputText: 'essay [emulate:tokens=500] please', modelId: SMALL_CONTEXT, parameters: { max_tokens: '100' } }),
        200,
      );
      assert.equal(res.stopReason, 'model_context_window_exceeded');
      assert.equal(res.inputTokens! + res.outputTokens!, 60);
    });
  });
});
