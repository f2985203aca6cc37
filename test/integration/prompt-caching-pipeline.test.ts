/**
 * Prompt caching through the whole pipeline (issue 24): the producer, workers, the local API
 * Gateway + Lambda handler (protobuf `no_cache` in, cache read/write tokens out) and the Bedrock
 * emulator's prompt cache (real AWS SDK). The default model, Amazon Nova Micro, caches from 1,000
 * tokens per checkpoint (Bedrock user guide, prompt-caching page, read 2026-12-03): a system prompt
 * of 1,100 words is cached on turn 1 and read from turn 2; `cache: false` turns it off.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { countTokens } from '../../emulators/emulated-text';
import { PROMPT_EVAL_NS_PER_TOKEN } from '../../emulators/ollama-emulator';
import { startTestStack, waitForConversation, type TestStack } from './../helpers/test-stack';

const SYSTEM = Array.from({ length: 1100 }, (_, i) => ['rules', 'style', 'facts', 'voice', 'terms'][i % 5]).join(' ');

describe('prompt caching through the pipeline (real Lambda handler, Bedrock emulator)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ BEDROCK_MODEL_ID: 'amazon.nova-micro-v1:0' });
  });
  after(async () => {
    await stack?.close();
  });

  async function run(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return waitForConversation(stack, res.data.conversationId, 60_000);
  }

  it('records cache writes then reads per turn, in the view, its totals, the cost and the CSV', async () => {
    const view = await run({ initialQuery: 'What makes a good dataset?', maxTurns: 3, systemPrompts: { cloud: SYSTEM } });
    assert.equal(view.status, 'completed');
    const [t1, t2] = view.turns;
    assert.equal(t1.cloud.cacheWriteInputTokens, 1100);
    assert.equal(t2.cloud.cacheReadInputTokens >= 1100, true, JSON.stringify(t2.cloud));
    assert.ok(view.totals.cloudCacheReadInputTokens >= 2200);
    assert.ok(t2.cloud.inputTokens < 1100, 'the cached system prompt is not in inputTokens');
    const rows = parse(fs.readFileSync(view.transcriptFile, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(rows[0]!.cloud_cache_write_tokens, '1100');
    assert.ok(Number(rows[1]!.cloud_cache_read_tokens) >= 1100);
    const metrics = (await stack.http.get('/metrics')).data as string;
    assert.match(metrics, /llmconv_llm_tokens_total\{[^}]*direction="cache_read"[^}]*\} [1-9]/);
  });

  it('turn N sends the `blocks` history (all turns while they fit, not the last contextTurns) and reads it from the cache', async () => {
    // The default policy where caching applies is `blocks` with contextTurns 3 (the block size):
    // a loader that read only the last 3 turns made it a sliding window, so the history's
    // checkpoint of one turn was never the next turn's prefix.
    const view = await run({ initialQuery: 'How do tides work?', maxTurns: 7, systemPrompts: { cloud: SYSTEM } });
    assert.equal(view.status, 'completed', JSON.stringify(view.error));
    assert.equal(view.turns.length, 7);
    type Turn = { question: string; cloudResponse: string; cloud: { inputTokens: number } };
    const tokensOf = (t: Turn) => countTokens(t.question) + countTokens(t.cloudResponse);
    for (let n = 3; n <= 7; n++) {
      const c = view.turns[n - 1].cloud;
      const sent = c.inputTokens + (c.cacheReadInputTokens ?? 0) + (c.cacheWriteInputTokens ?? 0);
      const earlier: Turn[] = view.turns.slice(0, n - 1);
      const history = earlier.reduce((sum, t) => sum + tokensOf(t), 0);
      assert.equal(
        sent,
        1100 + history + countTokens(view.turns[n - 1].question),
        `turn ${n} carries the system prompt and every earlier exchange`,
      );
      // The checkpoint after turn n-2's history was written by turn n-1: turn n reads it.
      const read = 1100 + earlier.slice(0, -1).reduce((sum, t) => sum + tokensOf(t), 0);
      assert.equal(c.cacheReadInputTokens, read, `turn ${n} reads the system prompt and turns 1..${n - 2}`);
    }
    // The last turn (maxTurns) writes nothing: no later call would read it (protobuf cache_history "read").
    assert.equal(view.turns[6].cloud.cacheWriteInputTokens, undefined, JSON.stringify(view.turns[6].cloud));
    assert.ok(view.turns[5].cloud.cacheWriteInputTokens > 0, 'turn 6 still writes for turn 7');
    assert.equal(view.context.policy, 'blocks');
    assert.equal(view.context.tokens, 8000);
    assert.match(view.context.reason, /^blocks, the default where caching applies/);
  });

  it('the default is the sliding window where the model’s checkpoint minimum is out of reach (Claude Haiku 4.5), said in the view', async () => {
    const view = await run({
      initialQuery: 'How do tides work?',
      maxTurns: 2,
      cloudModel: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      systemPrompts: { cloud: SYSTEM },
    });
    assert.equal(view.status, 'completed', JSON.stringify(view.error));
    assert.equal(view.context.policy, 'sliding');
    assert.equal(view.context.turns, 3);
    assert.match(view.context.reason, /minimum of 4096 tokens per cache checkpoint/);
    const get = await stack.http.get(`/conversation/${view.conversationId}`);
    assert.equal(get.data.context.policy, 'sliding');
  });

  it('POST /estimate assumes the context policy conversations would get: sliding for Haiku 4.5, blocks for Nova', async () => {
    const haiku = await stack.http.post('/estimate', { seeds: ['q'], cloudModel: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' });
    assert.equal(haiku.status, 200, JSON.stringify(haiku.data));
    assert.match(haiku.data.assumptions.cache, /^off: sliding window of contextTurns: .*minimum of 4096/);
    const nova = await stack.http.post('/estimate', { seeds: ['q'], cloudModel: 'amazon.nova-micro-v1:0' });
    assert.match(nova.data.assumptions.cache, /^on: blocks context/);
  });

  it('`cache: false` sends no checkpoint: nothing read or written', async () => {
    const view = await run({ initialQuery: 'What makes a good dataset?', maxTurns: 2, systemPrompts: { cloud: SYSTEM }, cache: false });
    for (const t of view.turns) {
      assert.equal(t.cloud.cacheReadInputTokens, undefined);
      assert.equal(t.cloud.cacheWriteInputTokens, undefined);
      assert.ok(t.cloud.inputTokens > 1100);
    }
  });
});

describe('local prompt evaluation per turn (Ollama emulator prefix reuse, real ollama client)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ BEDROCK_MODEL_ID: 'amazon.nova-micro-v1:0' });
  });
  after(async () => {
    await stack?.close();
  });

  it('records prompt_eval_duration per local step: from turn 2 it covers only what follows the previous prompt, in the totals and /metrics', async () => {
    // Ollama answers prompt_eval_count as the whole prompt and prompt_eval_duration as the time of
    // the tokens past its reused KV-cache prefix (llm/llama_server.go, read 2026-12-04).
    const res = await stack.http.post('/conversation', { initialQuery: 'Why is the sea salty?', maxTurns: 4 });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId, 60_000);
    assert.equal(view.status, 'completed');
    const msPerToken = PROMPT_EVAL_NS_PER_TOKEN / 1e6;
    let sum = 0;
    let previous = 0;
    for (const t of view.turns) {
      const l = t.local;
      assert.equal(typeof l.promptEvalMs, 'number', `turn ${t.turn}: ${JSON.stringify(l)}`);
      sum += l.promptEvalMs;
      const evaluated = Math.round(l.promptEvalMs / msPerToken);
      if (t.turn === 1) assert.equal(evaluated, l.inputTokens, 'a cold cache evaluates the whole prompt');
      // The previous local prompt is this one's prefix (the `blocks` policy keeps the history): none of it is evaluated again.
      else
        assert.ok(
          evaluated <= l.inputTokens - previous,
          `turn ${t.turn}: ${evaluated} of ${l.inputTokens} evaluated, ${previous} reusable`,
        );
      previous = l.inputTokens;
    }
    assert.equal(view.totals.localPromptEvalMs, Math.round(sum * 100) / 100);
    const metrics = (await stack.http.get('/metrics')).data as string;
    assert.match(metrics, /llmconv_llm_prompt_eval_seconds_total\{[^}]*side="local"[^}]*\} [0-9.e-]*[1-9]/);
  });
});
