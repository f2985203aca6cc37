/**
 * Prompt caching on the cloud path, with the real AWS SDK client against the Bedrock emulator.
 * Sources (read 2026-12-03): the Bedrock user guide's prompt-caching page
 * (docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html: minimum tokens per
 * checkpoint per model, 4 checkpoints, a 5-minute TTL a hit restarts, the `cachePoint` block in
 * `system` and `messages`), the SDK's CachePointBlock and TokenUsage (cacheReadInputTokens,
 * cacheWriteInputTokens), and for the excess-checkpoint error the message Bedrock passes on from
 * Anthropic ("A maximum of 4 blocks with cache_control may be provided. Found 5.", public issues).
 */
import assert from 'node:assert/strict';
import { BedrockRuntimeClient, ConverseCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createBedrockConverse, type ConverseTurn } from '../../../bedrock/bedrock-client';
import { estimateTokensLow, planCachePoints } from '../../../bedrock/cache-points';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { TTL_MS } from '../../../emulators/emulated-prompt-cache';
import { SHIPPED_CATALOG } from '../../../shared/model-catalog';

const NOVA = 'amazon.nova-micro-v1:0'; // 1,000 tokens per checkpoint
const SONNET = 'us.anthropic.claude-3-7-sonnet-20250219-v1:0'; // 1,024

/** `n` emulator tokens (words) of 6+ bytes each, so the client's low estimate never exceeds the count. */
const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i % 10}x${i}`).join(' ');

describe('prompt caching: where the checkpoints go (bedrock/cache-points.ts)', () => {
  const rules = SHIPPED_CATALOG.cacheRules(NOVA)!;
  it('places none below the minimum; each one needs a prefix of at least the minimum', () => {
    const small = words(100, 's');
    assert.deepEqual(planCachePoints(rules, small, [small, small, small]), { system: false, afterMessages: [] });
    const big = words(1200, 'b');
    // system (≥1,000) then history [u1,a1] (≥2,000 in total): both; the prompt never.
    const plan = planCachePoints(rules, big, [big, big, 'next question']);
    assert.equal(plan.system, true);
    assert.deepEqual(plan.afterMessages, [1]);
  });

  it('marks the end of the previous call’s history and the end of this one, never more than allowed', () => {
    const big = words(1200, 'h');
    const msgs = [big, big, big, big, big, big, 'q'];
    const plan = planCachePoints(rules, big, msgs);
    assert.equal(plan.system, true);
    assert.deepEqual(plan.afterMessages, [3, 5]);
    const two = planCachePoints({ ...rules, maxCheckpoints: 2 }, big, msgs);
    assert.equal(Number(two.system) + two.afterMessages.length, 2);
  });

  it('`read`: only the checkpoint that reads the previous call (the last call writes nothing unread); `none`: no history checkpoint', () => {
    const big = words(1200, 'h');
    const msgs = [big, big, big, big, big, big, 'q'];
    const read = planCachePoints(rules, big, msgs, 'read');
    assert.equal(read.system, true);
    assert.deepEqual(read.afterMessages, [3]);
    assert.deepEqual(planCachePoints(rules, big, msgs, 'none'), { system: true, afterMessages: [] });
  });

  it('estimates tokens low (6 bytes a token)', () => {
    assert.equal(estimateTokensLow('abcdefabcdef'), 2);
  });
});

describe('prompt caching: the Converse call against the emulator (real SDK)', () => {
  let emu: BedrockEmulatorHandle;
  let now = Date.now();
  before(async () => {
    emu = await startBedrockEmulator({ port: 0, now: () => now });
  });
  after(() => emu.close());
  beforeEach(() => emu.promptCache.clear());

  // The SDK's own client; HTTP/1.1 as bedrock-client.ts sends (the emulator serves h2 only over TLS).
  const sdk = () =>
    new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'EMULATORKEY', secretAccessKey: 'x' },
      requestHandler: new NodeHttpHandler(),
    });
  const converse = () => createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: NOVA });
  const system = words(1100, 'sys');
  const exchange = (k: number): ConverseTurn[] => [
    { role: 'user', content: words(600, `q${k}`) },
    { role: 'assistant', content: words(600, `a${k}`) },
  ];

  it('turn 1 writes the system prompt, turn 2 reads it and writes the history, turn 3 reads both', async () => {
    const c = converse();
    const t1 = await c({ system, history: [], prompt: 'first question' });
    assert.equal(t1.cacheCheckpoints, 1);
    assert.equal(t1.cacheReadInputTokens, 0);
    assert.equal(t1.cacheWriteInputTokens, 1100);
    const t2 = await c({ system, history: exchange(1), prompt: 'second question' });
    assert.equal(t2.cacheReadInputTokens, 1100);
    assert.equal(t2.cacheWriteInputTokens, 1200);
    const t3 = await c({ system, history: [...exchange(1), ...exchange(2)], prompt: 'third question' });
    assert.equal(t3.cacheReadInputTokens, 2300, 'the previous call’s history is read');
    assert.equal(t3.cacheWriteInputTokens, 1200);
    assert.equal(t3.inputTokens, 2, 'only the new prompt is uncached');
  });

  it('the last call (`cacheHistory: read`) reads the previous call’s history and writes nothing', async () => {
    const c = converse();
    await c({ system, history: exchange(1), prompt: 'second question' });
    const last = await c({ system, history: [...exchange(1), ...exchange(2)], prompt: 'last question', cacheHistory: 'read' });
    assert.equal(last.cacheReadInputTokens, 2300);
    assert.equal(last.cacheWriteInputTokens, 0, 'no later call would read it: a write premium for nothing');
    assert.equal(last.inputTokens, 1202);
  });

  it('`cache: false` sends no checkpoint and reads nothing', async () => {
    const c = converse();
    await c({ system, history: [], prompt: 'q' });
    const off = await c({ system, history: [], prompt: 'q', cache: false });
    assert.equal(off.cacheCheckpoints, 0);
    assert.equal(off.cacheReadInputTokens, 0);
    assert.equal(off.inputTokens, 1101);
  });

  it('a model the catalogue does not mark as cache-capable gets no checkpoint', async () => {
    const r = await converse()({ modelId: 'meta.llama3-1-8b-instruct-v1:0', system, history: [], prompt: 'q' });
    assert.equal(r.cacheCheckpoints, 0);
  });

  it('the TTL: 5 minutes, restarted by a hit', async () => {
    const c = converse();
    await c({ system, history: [], prompt: 'q' });
    now += TTL_MS['5m'] - 1000;
    assert.equal((await c({ system, history: [], prompt: 'q' })).cacheReadInputTokens, 1100, 'hit within the TTL');
    now += TTL_MS['5m'] - 1000;
    assert.equal((await c({ system, history: [], prompt: 'q' })).cacheReadInputTokens, 1100, 'the hit restarted it');
    now += TTL_MS['5m'] + 1;
    const late = await c({ system, history: [], prompt: 'q' });
    assert.equal(late.cacheReadInputTokens, 0);
    assert.equal(late.cacheWriteInputTokens, 1100, 'expired: written again');
  });

  it('a checkpoint below the model’s minimum is ignored without an error (Claude 3.7 Sonnet: 1,024)', async () => {
    const client = sdk();
    const out = await client.send(
      new ConverseCommand({
        modelId: SONNET,
        system: [{ text: words(1000, 'm') }, { cachePoint: { type: 'default' } }],
        messages: [{ role: 'user', content: [{ text: 'hi' }] }],
      }),
    );
    assert.equal(out.usage?.cacheWriteInputTokens, undefined);
    assert.equal(out.usage?.inputTokens, 1001);
  });

  it('more checkpoints than allowed: ValidationException, permanent (400)', async () => {
    const cp = { cachePoint: { type: 'default' as const } };
    const messages: Message[] = [{ role: 'user', content: [{ text: 'a' }, cp, { text: 'b' }, cp, { text: 'c' }, cp, { text: 'd' }, cp] }];
    const client = sdk();
    await assert.rejects(
      client.send(new ConverseCommand({ modelId: NOVA, system: [{ text: 's' }, cp], messages })),
      (err: Error) =>
        err.name === 'ValidationException' && /A maximum of 4 blocks with cache_control may be provided\. Found 5\./.test(err.message),
    );
  });

  it('a malformed cachePoint (type not "default") is a ValidationException naming the field', async () => {
    const res = await fetch(`${emu.url}/model/${NOVA}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'a' }, { cachePoint: { type: 'bogus' } }] }] }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /messages\.1\.member\.content\.2\.member\.cachePoint\.type.*enum value set: \[default\]/);
  });
});

describe('prompt caching: recorded per turn', () => {
  it('the record codec keeps a cloud step’s cache read and write tokens, the CSV appends them', async () => {
    const { encodeCloudStep, decodeCloudStep } = await import('../../../store/record-codec');
    const { transcriptRows } = await import('../../../transcript/transcript-csv');
    const ctx = { cloudModel: NOVA, localModel: 'llama3.2', createdAt: 1000 };
    const step = {
      question: 'q',
      answer: 'a',
      model: NOVA,
      inputTokens: 3,
      outputTokens: 4,
      latencyMs: 5,
      stopReason: 'end_turn',
      startedAt: 1100,
      at: 1200,
      cacheReadInputTokens: 2300,
      cacheWriteInputTokens: 1200,
    };
    const back = decodeCloudStep(encodeCloudStep(step, ctx as never), ctx as never);
    assert.equal(back.cacheReadInputTokens, 2300);
    assert.equal(back.cacheWriteInputTokens, 1200);
    const row = transcriptRows({ id: 'c1', stopReason: 'max_turns' } as never, [{ turn: 1, cloud: back }])[0]!;
    assert.equal(row.cloud_cache_read_tokens, 2300);
    assert.equal(row.cloud_cache_write_tokens, 1200);
  });
});

describe('prompt caching: the protobuf contract (additive fields)', () => {
  it('carries no_cache in and the cache read/write tokens out', async () => {
    const codec = await import('../../../proto/codec');
    assert.equal(codec.decodeRequest(codec.encodeRequest({ inputText: 'x', noCache: true })).noCache, true);
    assert.equal(codec.decodeRequest(codec.encodeRequest({ inputText: 'x' })).noCache, undefined);
    assert.equal(codec.decodeRequest(codec.encodeRequest({ inputText: 'x', cacheHistory: 'read' })).cacheHistory, 'read');
    assert.equal(codec.decodeRequest(codec.encodeRequest({ inputText: 'x' })).cacheHistory || undefined, undefined);
    const { validateLlmRequest } = await import('../../../lambda/request-validation');
    assert.equal(validateLlmRequest({ inputText: 'x', cacheHistory: 'none' }).cacheHistory, 'none');
    assert.equal(validateLlmRequest({ inputText: 'x' }).cacheHistory, undefined);
    assert.throws(() => validateLlmRequest({ inputText: 'x', cacheHistory: 'later' }), /cache_history must be "all", "read" or "none"/);
    const res = codec.decodeResponse(codec.encodeResponse({ outputText: 'y', cacheReadInputTokens: 7, cacheWriteInputTokens: 9 }));
    assert.equal(res.cacheReadInputTokens, 7);
    assert.equal(res.cacheWriteInputTokens, 9);
  });
});
