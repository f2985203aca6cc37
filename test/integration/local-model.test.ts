import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { startOllamaEmulator, type EmulatorHandle } from '../../emulators/ollama-emulator';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

/**
 * The local side against Ollama as it really behaves, through the whole pipeline (real Redis,
 * workers, producer, the Bedrock emulator behind the local gateway and an Ollama emulator the
 * workers reach by OLLAMA_HOST in Ollama's own `host:port` form, as the systemd drop-in writes it).
 */
describe('local model through the pipeline (Ollama as it really behaves)', function () {
  this.timeout(60_000);
  let ollama: EmulatorHandle;
  let stack: TestStack;

  before(async () => {
    ollama = await startOllamaEmulator({ models: ['llama3.2', 'qwen3:0.6b'], thinkingTokens: 12 });
    stack = await startTestStack({ OLLAMA_HOST: `127.0.0.1:${ollama.port}`, OLLAMA_MODEL: 'llama3.2' });
  });
  after(async () => {
    await stack?.close();
    await ollama?.close();
  });

  it('OLLAMA_HOST=127.0.0.1:<port> (no scheme) reaches Ollama: a conversation completes through it', async () => {
    assert.equal(stack.config.ollamaHost, `http://127.0.0.1:${ollama.port}`);
    ollama.faults.resetStats();
    const res = await stack.http.post('/conversation', { initialQuery: 'Host forms?', maxTurns: 2 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed');
    assert.equal(ollama.stats().byRoute.chat, 2);
  });

  it('a conversation naming a model no local worker has is refused before any cloud call, saying what to run', async () => {
    stack.bedrock!.faults.resetStats();
    ollama.faults.resetStats();
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Which local model?',
      maxTurns: 3,
      localModel: 'mistral-not-pulled:7b',
    });
    assert.equal(res.status, 400);
    assert.equal(res.data.error.code, 'model_not_found');
    assert.ok(res.data.error.message.includes('"mistral-not-pulled:7b"'), res.data.error.message);
    assert.ok(res.data.error.message.includes('`ollama pull mistral-not-pulled:7b`'), res.data.error.message);
    assert.match(res.data.error.message, /they have: llama3\.2:latest, qwen3:0\.6b/);
    assert.equal(stack.bedrock!.stats().calls, 0, 'no cloud call was paid for');
    assert.equal(ollama.stats().byRoute.chat, undefined);
    assert.equal((await stack.queues.cloud.getJobCounts('waiting', 'active', 'delayed')).waiting, 0);
    // The same model with its tag spelled out, or without it, is found.
    const ok = await stack.http.post('/conversation', { initialQuery: 'Tagged', maxTurns: 1, localModel: 'llama3.2:latest' });
    assert.equal(ok.status, 202);
    await waitForConversation(stack, ok.data.conversationId);
  });

  it('a thinking model does not think unless the conversation asks; when it does, the reasoning is recorded apart', async () => {
    const plain = await stack.http.post('/conversation', {
      initialQuery: 'Why queues?',
      maxTurns: 2,
      localModel: 'qwen3:0.6b',
      maxTokens: 30,
    });
    const thoughtful = await stack.http.post('/conversation', {
      initialQuery: 'Why queues?',
      maxTurns: 2,
      localModel: 'qwen3:0.6b',
      maxTokens: 60,
      think: true,
    });
    const off = await waitForConversation(stack, plain.data.conversationId);
    const on = await waitForConversation(stack, thoughtful.data.conversationId);
    assert.equal(off.status, 'completed');
    for (const t of off.turns) {
      assert.match(t.ollamaResponse, /^\[emulated ollama qwen3:0\.6b\]/, 'the answer, not an empty reply cut by reasoning');
      assert.equal(t.local.thinking, undefined);
    }
    assert.equal(on.status, 'completed');
    for (const t of on.turns) {
      assert.equal(t.local.thinking.split(/\s+/).length, 12);
      assert.match(t.ollamaResponse, /^\[emulated ollama qwen3:0\.6b\]/);
      assert.ok(!t.ollamaResponse.includes('Let me think'), 'no reasoning in the follow-up');
    }
    // The next question is built from the answer only, and the CSV keeps its columns.
    assert.equal(on.turns[1].question, `Do you have any comments on: ${on.turns[0].ollamaResponse}`);
    const rows = parse(fs.readFileSync(on.transcriptFile, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(rows[0]!.ollama_response, on.turns[0].ollamaResponse);
    assert.ok(!Object.keys(rows[0]!).some((c) => /think/i.test(c)));
  });

  it('think must be a boolean (400 naming the field)', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'x', think: 'yes' });
    assert.equal(res.status, 400);
    assert.match(res.data.error.message, /think/);
  });
});

describe('local prompt cut to OLLAMA_NUM_CTX through the pipeline', function () {
  this.timeout(60_000);
  let ollama: EmulatorHandle;
  let stack: TestStack;

  before(async () => {
    ollama = await startOllamaEmulator({ models: ['llama3.2'] });
    stack = await startTestStack({ OLLAMA_HOST: ollama.url, OLLAMA_NUM_CTX: '256' });
  });
  after(async () => {
    await stack?.close();
    await ollama?.close();
  });

  it('a local prompt longer than the context window is flagged on its step (Ollama itself says nothing)', async () => {
    const long = 'Consider every detail of this. '.repeat(60);
    const cut = await stack.http.post('/conversation', { initialQuery: 'Long system prompt', maxTurns: 1, systemPrompts: { local: long } });
    const short = await stack.http.post('/conversation', { initialQuery: 'Short one', maxTurns: 1 });
    const cutView = await waitForConversation(stack, cut.data.conversationId);
    const shortView = await waitForConversation(stack, short.data.conversationId);
    assert.equal(cutView.status, 'completed');
    assert.equal(cutView.turns[0].local.promptTruncated, true);
    assert.ok(cutView.turns[0].local.inputTokens <= 256, `evaluated ${cutView.turns[0].local.inputTokens}`);
    assert.equal(shortView.turns[0].local.promptTruncated, undefined);
  });
});

/**
 * Issue 20 through the pipeline: gpt-oss, which cannot stop thinking (ollama/ollama#11751,
 * docs/capabilities/thinking.mdx, read 2026-12-02), with a small maxTokens; and local prompts past
 * Ollama's context, which Ollama cuts without an error (server/prompt.go chatPrompt).
 */
describe('local model as Ollama is now: thinking that cannot be turned off, context that is cut silently', function () {
  this.timeout(60_000);
  let ollama: EmulatorHandle;
  let stack: TestStack;

  before(async () => {
    ollama = await startOllamaEmulator({
      models: ['llama3.2', 'llama2', 'gpt-oss:20b'],
      thinkingTokens: 40,
      contextLength: 600,
      modelContexts: { llama2: 512 },
    });
    stack = await startTestStack({ OLLAMA_HOST: ollama.url, OLLAMA_MODEL: 'llama3.2' });
  });
  after(async () => {
    await stack?.close();
    await ollama?.close();
  });

  it('gpt-oss with a small cap: never "Do you have any comments on: " with an empty follow-up', async () => {
    stack.bedrock!.faults.resetStats();
    // maxTokens 6: even at "low" (10 words of reasoning here) nothing is left for the answer.
    const capped = await stack.http.post('/conversation', {
      initialQuery: 'Why queues?',
      maxTurns: 3,
      localModel: 'gpt-oss:20b',
      maxTokens: 6,
    });
    // maxTokens 30: at "low" the answer has room; at the "medium" gpt-oss takes for think:false (40) it would not.
    const roomy = await stack.http.post('/conversation', {
      initialQuery: 'Why queues?',
      maxTurns: 2,
      localModel: 'gpt-oss:20b',
      maxTokens: 30,
    });
    const c = await waitForConversation(stack, capped.data.conversationId);
    const r = await waitForConversation(stack, roomy.data.conversationId);
    for (const v of [c, r]) {
      for (const t of v.turns)
        assert.notEqual(t.question.trim(), 'Do you have any comments on:', 'an empty follow-up became the next question');
    }
    assert.equal(c.status, 'completed');
    assert.equal(c.stopReason, 'empty_answer');
    assert.equal(c.turns.length, 1, 'no turn 2 was asked');
    assert.equal(c.turns[0].ollamaResponse, '');
    assert.match(c.error, /gpt-oss:20b gave no follow-up: it spent its num_predict of 6 \(the conversation's maxTokens\) on reasoning/);
    assert.equal(r.status, 'completed');
    assert.equal(r.stopReason, 'max_turns');
    for (const t of r.turns) assert.match(t.ollamaResponse, /^\[emulated ollama gpt-oss:20b\]/);
    assert.equal(stack.bedrock!.stats().calls, 1 + 2, 'one cloud call for the capped conversation, two for the other');
  });

  it("a local prompt past the server's context is sent with a num_ctx that holds it, or recorded truncated when the model cannot hold it", async () => {
    // 700 words of local system prompt: past the server's 600 default context on every turn.
    const long = 'Consider every detail of this carefully. '.repeat(117).trim();
    const words = long.split(/\s+/).length;
    const fits = await stack.http.post('/conversation', { initialQuery: 'Long local prompt', maxTurns: 2, systemPrompts: { local: long } });
    const cut = await stack.http.post('/conversation', {
      initialQuery: 'Too long for llama2 here',
      maxTurns: 1,
      localModel: 'llama2',
      systemPrompts: { local: long },
    });
    const f = await waitForConversation(stack, fits.data.conversationId);
    const k = await waitForConversation(stack, cut.data.conversationId);
    assert.equal(f.status, 'completed');
    assert.equal(f.turns.length, 2);
    for (const t of f.turns) {
      assert.ok(t.local.inputTokens > words, `turn ${t.turn}: evaluated ${t.local.inputTokens} of more than ${words}: the whole prompt`);
      assert.equal(t.local.promptTruncated, undefined);
    }
    const ps = (await (await fetch(`${ollama.url}/api/ps`)).json()) as { models: { name: string; context_length: number }[] };
    assert.ok(ps.models.find((m) => m.name === 'llama3.2:latest')!.context_length >= 1024, 'loaded with the larger context');
    assert.equal(k.status, 'completed');
    assert.equal(k.turns[0].local.promptTruncated, true, 'llama2 here holds 512 tokens: the cut is recorded, not silent');
    assert.ok(k.turns[0].local.inputTokens <= 512);
  });
});
