/**
 * Backends chosen by configuration (providers/provider-registry.ts): the whole pipeline with
 * CLOUD=bedrock (Bedrock Converse from the worker, no gateway, against a Bedrock emulator at
 * BEDROCK_ENDPOINT: an explicit CLOUD=bedrock with no endpoint calls real Bedrock) and
 * LOCAL=openai (the official `openai` client against the OpenAI-compatible emulator), on real
 * Redis with the real workers and producer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../emulators/bedrock-emulator';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

function readCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

describe('backends by configuration: CLOUD=bedrock, LOCAL=openai through the pipeline', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let bedrock: BedrockEmulatorHandle;

  before(async () => {
    bedrock = await startBedrockEmulator();
    stack = await startTestStack({
      CLOUD: 'bedrock',
      BEDROCK_ENDPOINT: bedrock.url,
      LOCAL: 'openai',
      OPENAI_API_KEY: 'sk-local-test-0001',
      CLOUD_FALLBACK_AFTER_THROTTLES: '2',
    });
  });
  afterEach(() => {
    bedrock.faults.reset();
    stack.openai!.faults.reset();
  });
  after(async () => {
    await stack?.close();
    await bedrock?.close();
  });

  it('starts no gateway and no Ollama emulator: the workers call Bedrock and the OpenAI-compatible server', () => {
    assert.equal(stack.backends.gateway, 'none');
    assert.equal(stack.gatewayUrl, '');
    assert.equal(stack.ollama, undefined);
    assert.equal(stack.backends.openai, 'emulated');
    assert.equal(stack.config.openaiBaseUrl, `${stack.openai!.url}/v1`);
  });

  it("a 3-turn conversation completes with both backends' text", async () => {
    const bedrockBefore = bedrock.stats().calls;
    const res = await stack.http.post('/conversation', { initialQuery: 'What is the meaning of life?', maxTurns: 3 });
    assert.equal(res.status, 202);
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(view.stopReason, 'max_turns');
    const rows = readCsv(view.transcriptFile);
    assert.equal(rows.length, 3);
    for (const r of rows) {
      assert.match(r.cloud_response!, /emulated bedrock/);
      assert.match(r.ollama_response!, /^\[emulated openai llama3\.2\]/);
      assert.ok(Number(r.cloud_output_tokens) > 0);
    }
    assert.equal(bedrock.stats().calls - bedrockBefore, 3, 'one Converse call per turn, straight from the worker');
    assert.equal(stack.openai!.stats().byRoute['chat'], 3);
  });

  it('transient errors on both backends (Bedrock 503 and 429, OpenAI 429 and 500) are retried and the conversation completes', async () => {
    bedrock.faults.set({
      faults: [
        { kind: 'status', status: 503, count: 1 },
        { kind: 'status', status: 429, count: 1 },
      ],
    });
    stack.openai!.faults.set({
      faults: [
        { kind: 'status', status: 429, count: 1 },
        { kind: 'status', status: 500, count: 1 },
      ],
    });
    const res = await stack.http.post('/conversation', { initialQuery: 'Be resilient', maxTurns: 2 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(readCsv(view.transcriptFile).length, 2);
    assert.ok(bedrock.stats().faults >= 2);
    assert.ok(stack.openai!.stats().faults >= 2);
  });

  it('an unknown local model (404 model_not_found) fails the conversation at once, not retried', async () => {
    const before = stack.openai!.stats().byModel['absent-model'] ?? 0;
    const res = await stack.http.post('/conversation', { initialQuery: 'Hello', maxTurns: 2, localModel: 'absent-model' });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'failed');
    assert.equal(view.stopReason, 'provider_error');
    assert.match(view.error, /does not exist/);
    assert.equal((stack.openai!.stats().byModel['absent-model'] ?? 0) - before, 1, 'not retried');
  });

  it("a permanent Bedrock error fails at once with the Lambda's classification (ValidationException)", async () => {
    const model = 'test.permanent-direct-v1';
    bedrock.faults.set({ faults: [{ kind: 'status', status: 400, model, message: 'The model id is not supported here.' }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'Fail me', maxTurns: 2, cloudModel: model });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'failed');
    assert.match(view.error, /ValidationException/);
    assert.equal(bedrock.stats().byModel[model], 1, 'not retried');
  });

  it('replies cut at maxTokens record truncated on both sides (Converse max_tokens, finish_reason length)', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Write an essay [emulate:tokens=500]', maxTokens: 12, maxTurns: 1 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(view.turns[0].cloud.stopReason, 'max_tokens');
    assert.equal(view.turns[0].cloud.truncated, true);
    assert.equal(view.turns[0].local.stopReason, 'length');
    assert.equal(view.turns[0].local.truncated, true);
  });

  it('the fallback wrapper applies to the direct backend: a model that keeps throttling hands the turn to the next of the list', async () => {
    const primary = 'amazon.nova-micro-v1:0';
    const fallback = 'amazon.nova-lite-v1:0';
    bedrock.faults.set({ faults: [{ kind: 'status', status: 429, model: primary }] });
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Where do fallbacks go?',
      maxTurns: 1,
      cloudModel: [primary, fallback],
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(view.turns[0].cloud.model, fallback);
    assert.equal(view.turns[0].cloud.requestedModel, primary);
  });

  it('POST /api/v1/generate answers through the chosen cloud backend (no gateway)', async () => {
    const before = bedrock.stats().calls;
    const res = await stack.http.post('/api/v1/generate', { inputText: 'Hello there' });
    assert.equal(res.status, 200, JSON.stringify(res.data));
    assert.equal(bedrock.stats().calls - before, 1);
  });
});

describe('backends by configuration: CLOUD=emulated, LOCAL=emulated run the emulators over configured endpoints', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    // Real-looking settings that would otherwise win: a deployed gateway, AWS credentials, an Ollama host (nothing listens on port 9).
    stack = await startTestStack({
      CLOUD: 'emulated',
      LOCAL: 'emulated',
      API_GATEWAY_URL: 'http://127.0.0.1:9/prod/generate',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE',
      OLLAMA_HOST: 'http://127.0.0.1:9',
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('starts the Bedrock emulator behind the in-process gateway and the Ollama emulator, and a conversation completes on them', async () => {
    assert.equal(stack.backends.bedrock, 'emulated');
    assert.equal(stack.backends.gateway, 'local gateway');
    assert.equal(stack.backends.ollama, 'emulated');
    assert.notEqual(stack.config.apiGatewayUrl, 'http://127.0.0.1:9/prod/generate');
    const res = await stack.http.post('/conversation', { initialQuery: 'Offline?', maxTurns: 2 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    const rows = readCsv(view.transcriptFile);
    assert.match(rows[0]!.cloud_response!, /emulated bedrock/);
    assert.match(rows[0]!.ollama_response!, /emulated ollama/);
  });
});

describe('npm start with AWS credentials but no CLOUD: still the emulator (no silent switch to billed calls)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ AWS_PROFILE: 'llmconv-test-profile', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE' });
  });
  after(async () => {
    await stack?.close();
  });

  it('runs the Bedrock emulator behind the in-process gateway, says why, and a conversation completes on it', async () => {
    assert.equal(stack.backends.bedrock, 'emulated');
    assert.equal(stack.why.cloud.billed, false);
    assert.match(stack.why.cloud.reason, /^CLOUD unset: the Bedrock emulator \(AWS_ACCESS_KEY_ID, AWS_PROFILE are set but not used\)/);
    const res = await stack.http.post('/conversation', { initialQuery: 'Billed?', maxTurns: 1 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.match(readCsv(view.transcriptFile)[0]!.cloud_response!, /emulated bedrock/);
  });
});

describe('npm start and the demo answer an unknown model id as Bedrock does (unknownModels: refuse)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({}, { unknownModels: 'refuse' });
  });
  after(async () => {
    await stack?.close();
  });

  it('"cloudModel": "totally-bogus" fails its first turn at once with Bedrock\'s ValidationException, not retried', async () => {
    const started = Date.now();
    const res = await stack.http.post('/conversation', { initialQuery: 'Typo?', maxTurns: 3, cloudModel: 'totally-bogus' });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId, 20_000, false);
    assert.equal(view.status, 'failed');
    assert.match(String(view.error), /The provided model identifier is invalid/);
    assert.equal(view.turnsCompleted, 0);
    assert.equal(stack.bedrock!.stats().byModel['totally-bogus'], 1, 'not retried');
    assert.ok(Date.now() - started < 10_000);
  });

  it('a model id the catalogue knows completes', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Known?', maxTurns: 1, cloudModel: 'amazon.nova-lite-v1:0' });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
  });
});
