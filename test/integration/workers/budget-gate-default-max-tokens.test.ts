/**
 * The budget gate reserves (and has the call send) the `maxTokens` the Lambda would pick: the
 * catalogue's `defaultMaxTokens` for the model (a reasoning model gets more room), else
 * DEFAULT_MAX_TOKENS lowered to the model's cap. Real Redis; the fixture catalogue
 * test/fixtures/model-catalog-quirks.json (`example.reasoner-v1`: defaultMaxTokens 2048; `example.plain-v1`: none).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { ConversationRecord } from '../../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import { loadPriceTable } from '../../../cost/price-table';
import { loadConfig } from '../../../shared/config';
import { BudgetStore } from '../../../store/budget-store';
import { BudgetGate, inputTokensBound } from '../../../workers/budget-gate';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

const FIXTURE = path.join(__dirname, '../../fixtures/model-catalog-quirks.json');

function recordFor(cloudModel: string): ConversationRecord {
  return {
    id: `c-${cloudModel}`,
    status: 'running',
    createdAt: Date.now(),
    updatedAt: Date.now(),
    deadline: Date.now() + 60_000,
    format: 2,
    settings: {
      initialQuery: 'q',
      outputFile: 'x.csv',
      maxTurns: 1,
      timeoutMinutes: 1,
      cloudModel,
      localModel: 'llama3.2',
      contextTurns: 3,
      templates: { ...DEFAULT_TEMPLATES },
      systemPrompts: {},
      budget: { tokens: 1_000_000 },
    },
  };
}

describe('budget gate: the default maxTokens comes from the catalogue', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(testRedisUrl());
  });
  after(() => redis.disconnect());

  it('a reasoning model gets its catalogue default, others DEFAULT_MAX_TOKENS', async () => {
    const config = loadConfig({ QUEUE_PREFIX: uniquePrefix('gate'), MODEL_CATALOG_FILE: FIXTURE });
    const gate = new BudgetGate(new BudgetStore(redis), config, loadPriceTable(undefined));
    const job = { id: 'j1', attemptsMade: 0 } as Job;
    for (const [model, expected] of [
      ['example.reasoner-v1', 2048],
      ['example.plain-v1', 1024],
    ] as const) {
      const r = await gate.reserve(job, recordFor(model), 'cloud', { prompt: 'q', model });
      assert.ok(r.ok && r.held, model);
      assert.equal(r.held.maxTokens, expected, model);
      await r.held.fail(new Error('not called'));
    }
  });
});

describe('budget gate: the input bound from the previous call’s recorded usage', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(testRedisUrl());
  });
  after(() => redis.disconnect());

  const longHistory = 'word '.repeat(4000); // 20,000 bytes: a byte bound of 20,000+ tokens
  const call = (model: string) => ({
    prompt: 'next question?',
    model,
    history: [
      { role: 'user' as const, content: longHistory },
      { role: 'assistant' as const, content: 'the previous answer' },
    ],
  });

  it('a budget the byte bound cannot fit is used when the previous call’s real input is known', async () => {
    const config = loadConfig({ QUEUE_PREFIX: uniquePrefix('gate'), MODEL_CATALOG_FILE: FIXTURE });
    const gate = new BudgetGate(new BudgetStore(redis), config, loadPriceTable(undefined));
    const model = 'example.plain-v1';
    const record = { ...recordFor(model), id: 'c-known', settings: { ...recordFor(model).settings, budget: { tokens: 3000 } } };
    const job = { id: 'j2', attemptsMade: 0 } as Job;
    // Without the recorded usage: 20,000+ input tokens cannot fit 3,000.
    assert.equal((await gate.reserve(job, record, 'cloud', call(model))).ok, false);
    // The previous call really took 4,010 tokens in all … over the budget too.
    const previous = { model, inputTokens: 10, cacheReadInputTokens: 3900, cacheWriteInputTokens: 100, answer: 'the previous answer' };
    assert.equal((await gate.reserve(job, record, 'cloud', call(model), previous)).ok, false);
    // … and 1,010: the call fits, its maxTokens the default 1,024 lowered to what is left.
    const r = await gate.reserve(job, record, 'cloud', call(model), { ...previous, cacheReadInputTokens: 900 });
    assert.ok(r.ok && r.held);
    const bound = 1010 + inputTokensBound({ prompt: 'next question?', history: [call(model).history[1]!] });
    assert.equal(r.held.maxTokens, Math.min(1024, 3000 - bound));
    await r.held.fail(new Error('not called'));
    // Another model's count (another tokenizer) is not used.
    assert.equal((await gate.reserve(job, record, 'cloud', call(model), { ...previous, cacheReadInputTokens: 900, model: 'x' })).ok, false);
  });
});
