/**
 * Whole conversations (producer, Redis, workers, local gateway, the real Lambda handler and SDK,
 * the Bedrock and Ollama emulators) on models that behave as Bedrock's do in December 2026 —
 * issue 20, parts 3 and 4 — with the fixture catalogue test/fixtures/model-catalog-quirks.json:
 * - a model that rejects `temperature` ("`temperature` is deprecated for this model.", cline/cline#10572):
 *   the conversation completes, each turn says the temperature was left out;
 * - the same model unknown to the Lambda: the first call is retried without it, the fact is kept
 *   fleet-wide in Redis, and later calls (any conversation) leave it out from the start;
 * - a reply cut at `maxTokens` (Converse `stopReason: max_tokens`; Ollama `done_reason: "length"`)
 *   records `truncated` on the turn, in the CSV and in /metrics; `quality.truncated: "stop"` ends the conversation `truncated`;
 * - a reasoning model whose `maxTokens` goes on reasoning ends `empty_answer` naming the tokens.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../emulators/bedrock-emulator';
import { loadModelCatalog } from '../../shared/model-catalog';
import { modelQuirksKey } from '../../store/model-quirks';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

const FIXTURE = path.join(__dirname, '../fixtures/model-catalog-quirks.json');
const NO_TEMP = 'example.no-temperature-v1';
const REASONER = 'example.reasoner-v1';
/** An ordinary model of the fixture: the tests never depend on the shipped rows (default model, lifecycle). */
const PLAIN = 'example.plain-v1';

const csvOf = (file: string) => parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];

describe('pipeline: models that reject parameters, truncate and reason', function () {
  this.timeout(60_000);

  describe('with the catalogue that knows the models (MODEL_CATALOG_FILE)', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ MODEL_CATALOG_FILE: FIXTURE });
    });
    after(async () => {
      await stack?.close();
    });

    it('a conversation with a temperature completes on a model that rejects temperature, each turn saying it was left out', async () => {
      const res = await stack.http.post('/conversation', {
        initialQuery: 'What is a stream?',
        cloudModel: NO_TEMP,
        temperature: 0.5,
        maxTurns: 2,
      });
      assert.equal(res.status, 202);
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'completed', view.error);
      assert.equal(view.stopReason, 'max_turns');
      assert.deepEqual(
        view.turns.map((t: { cloud: { omittedParameters?: string[] } }) => t.cloud.omittedParameters),
        [['temperature'], ['temperature']],
      );
    });

    it('replies cut at maxTokens record truncated on the turn (both sides), in the CSV and in /metrics, and the conversation goes on', async () => {
      const res = await stack.http.post('/conversation', {
        initialQuery: 'Write an essay [emulate:tokens=500]',
        cloudModel: PLAIN,
        maxTokens: 12,
        maxTurns: 1,
      });
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'completed', view.error);
      assert.equal(view.stopReason, 'max_turns');
      assert.equal(view.turns[0].cloud.stopReason, 'max_tokens');
      assert.equal(view.turns[0].cloud.truncated, true);
      // The same cap goes to Ollama as num_predict: the emulated follow-up is longer, done_reason "length".
      assert.equal(view.turns[0].local.stopReason, 'length');
      assert.equal(view.turns[0].local.truncated, true);
      assert.equal(csvOf(view.transcriptFile)[0]!.truncated, 'both');
      const metrics = await stack.http.get('/metrics');
      assert.match(metrics.data, /llmconv_llm_truncated_total\{side="cloud",model="example\.plain-v1"\} [1-9]/);
      assert.match(metrics.data, /llmconv_llm_truncated_total\{side="local",model="[^"]+"\} [1-9]/);
    });

    it('quality.truncated "stop" ends the conversation with stop reason truncated', async () => {
      const res = await stack.http.post('/conversation', {
        initialQuery: 'Write an essay [emulate:tokens=500]',
        cloudModel: PLAIN,
        maxTokens: 12,
        maxTurns: 3,
        quality: { truncated: 'stop' },
      });
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'completed');
      assert.equal(view.stopReason, 'truncated');
      assert.equal(view.turns.length, 1);
      assert.equal(view.turns[0].ollamaResponse, null, 'the local side never got the cut answer');
    });

    it('a reasoning model that spends maxTokens reasoning ends empty_answer naming the tokens and the setting to raise', async () => {
      const res = await stack.http.post('/conversation', {
        initialQuery: 'Why is the sky blue?',
        cloudModel: REASONER,
        maxTokens: 16,
        maxTurns: 2,
      });
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'completed');
      assert.equal(view.stopReason, 'empty_answer');
      assert.equal(view.turns[0].cloud.reasoningTokens, 16);
      assert.equal(view.turns[0].cloud.truncated, true);
      assert.match(
        view.error,
        /^cloud model spent 16 of 16 output tokens reasoning and answered no text \(stop reason max_tokens\); raise maxTokens above 16/,
      );
    });
  });

  describe('with a Lambda whose catalogue does not know the model', () => {
    let emu: BedrockEmulatorHandle;
    let stack: TestStack;
    let redis: Redis;
    before(async () => {
      // Bedrock (the emulator) rejects what the fixture says; the Lambda has only the shipped catalogue.
      emu = await startBedrockEmulator({ catalog: loadModelCatalog(FIXTURE) });
      stack = await startTestStack({ BEDROCK_ENDPOINT: emu.url });
      redis = new Redis(stack.redisUrl);
    });
    after(async () => {
      redis?.disconnect();
      await stack?.close();
      await emu?.close();
    });

    it('the first rejection is retried without temperature and kept fleet-wide; later calls leave it out from the start', async () => {
      const first = await stack.http.post('/conversation', {
        initialQuery: 'What is a stream?',
        cloudModel: NO_TEMP,
        temperature: 0.5,
        maxTurns: 2,
      });
      const view = await waitForConversation(stack, first.data.conversationId);
      assert.equal(view.status, 'completed', view.error);
      assert.deepEqual(
        view.turns.map((t: { cloud: { omittedParameters?: string[] } }) => t.cloud.omittedParameters),
        [['temperature'], ['temperature']],
      );
      assert.equal(await redis.hget(modelQuirksKey(stack.config.queuePrefix), NO_TEMP), '["temperature"]');
      // Turn 1: the rejected call and its retry; turn 2: one call, the omission sent by the worker.
      assert.equal(emu.stats().byModel[NO_TEMP], 3);

      const second = await stack.http.post('/conversation', {
        initialQuery: 'And a queue?',
        cloudModel: NO_TEMP,
        temperature: 0.5,
        maxTurns: 1,
      });
      const again = await waitForConversation(stack, second.data.conversationId);
      assert.equal(again.status, 'completed', again.error);
      assert.equal(emu.stats().byModel[NO_TEMP], 4, 'no rejected call any more');
    });
  });
});
