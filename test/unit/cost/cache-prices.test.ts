/**
 * Prompt-caching facts of the catalogue and their prices (Bedrock user guide, prompt-caching page,
 * docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html, read 2026-12-03): reads bill
 * at the cache-read price, writes at the cache-write price (the input price without one), and the
 * budget's worst case includes the write premium.
 */
import assert from 'node:assert/strict';
import { cacheWritePremium, callCostUsd, DEFAULT_PRICES } from '../../../cost/price-table';
import { conversationCost } from '../../../cost/conversation-cost';
import { checkFamilies, SHIPPED_CATALOG } from '../../../shared/model-catalog';
import { ConfigError } from '../../../shared/errors';

describe('catalogue: prompt caching', () => {
  it('every cache-capable row names its source and date, and prices a cache read below its input', () => {
    const rows = SHIPPED_CATALOG.families().filter((f) => f.caching);
    assert.ok(rows.length >= 5);
    for (const f of rows) {
      assert.match(f.caching!.source, /prompt-caching/, f.family);
      assert.equal(f.caching!.readOn, '2026-12-03', f.family);
      assert.ok(f.caching!.maxCheckpoints <= 4, f.family);
      assert.ok(f.prices?.cacheReadPer1k !== undefined && f.prices.cacheReadPer1k < f.prices.inputPer1k, f.family);
    }
  });

  it('gives the minimum per checkpoint of the user guide: Claude 3.7 Sonnet 1,024, Claude 3.5 Haiku 2,048, Nova Micro 1,000', () => {
    assert.equal(SHIPPED_CATALOG.cacheRules('us.anthropic.claude-3-7-sonnet-20250219-v1:0')?.minTokensPerCheckpoint, 1024);
    assert.equal(SHIPPED_CATALOG.cacheRules('anthropic.claude-3-5-haiku-20241022-v1:0')?.minTokensPerCheckpoint, 2048);
    assert.equal(SHIPPED_CATALOG.cacheRules('amazon.nova-micro-v1:0')?.minTokensPerCheckpoint, 1000);
    assert.deepEqual(SHIPPED_CATALOG.cacheRules('us.anthropic.claude-haiku-4-5-20251001-v1:0')?.ttls, ['5m', '1h']);
  });

  it('leaves a family without a source not cache-capable (no checkpoint is ever sent to it)', () => {
    assert.equal(SHIPPED_CATALOG.cacheRules('meta.llama3-1-8b-instruct-v1:0'), undefined);
    assert.equal(SHIPPED_CATALOG.cacheRules('anthropic.claude-sonnet-4-6'), undefined);
    assert.equal(SHIPPED_CATALOG.cacheRules('amazon.nova-premier-v1:0'), undefined);
  });

  it('refuses a malformed "caching" block naming the row', () => {
    const bad = { families: [{ family: 'X', match: '^x', source: 's', readOn: 'd', caching: { minTokensPerCheckpoint: 0 } }] };
    assert.throws(
      () => checkFamilies(bad, 'MODEL_CATALOG_FILE'),
      (e: unknown) => e instanceof ConfigError && /families\[0\] \(X\): "caching"/.test(e.message),
    );
  });
});

describe('cost: cache read and write tokens', () => {
  const haiku = 'anthropic.claude-haiku-4-5-20251001-v1:0';
  it('prices reads at cacheReadPer1k and writes at cacheWritePer1k (Claude Haiku 4.5: 0.0001 and 0.00125 per 1k)', () => {
    const usd = callCostUsd(haiku, 'cloud', 1000, 1000, DEFAULT_PRICES, { readTokens: 10_000, writeTokens: 2000 });
    assert.equal(usd, (1000 * 0.001 + 1000 * 0.005 + 10_000 * 0.0001 + 2000 * 0.00125) / 1000);
  });

  it('bills writes at the input price where the catalogue has no write price (Nova Micro)', () => {
    const usd = callCostUsd('amazon.nova-micro-v1:0', 'cloud', 0, 0, DEFAULT_PRICES, { writeTokens: 1000 });
    assert.equal(usd, 0.000035);
    assert.equal(cacheWritePremium('amazon.nova-micro-v1:0', 'cloud', DEFAULT_PRICES), 1);
  });

  it('a write premium of 1.25 for Claude Haiku 4.5', () => {
    assert.equal(cacheWritePremium(haiku, 'cloud', DEFAULT_PRICES), 1.25);
  });

  it("a conversation's cost counts its steps' cache tokens", () => {
    const step = {
      question: 'q',
      answer: 'a',
      model: haiku,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 1,
      stopReason: 'end_turn',
      startedAt: 0,
      at: 0,
    };
    const c = conversationCost([{ turn: 1, cloud: { ...step, cacheReadInputTokens: 1000 } }], DEFAULT_PRICES);
    assert.equal(c.cloudUsd, 0.0001);
  });
});

describe('estimate: with prompt caching', () => {
  it('prices every cloud input token as a cache write and keeps the blocks history (an upper bound)', async () => {
    const { estimateCost } = await import('../../../cost/estimate');
    const base = {
      seeds: ['Explain caching.'],
      turns: 10,
      maxTokens: 100,
      models: { cloud: 'anthropic.claude-haiku-4-5-20251001-v1:0', local: 'llama3.2' },
      prices: DEFAULT_PRICES,
    };
    const off = estimateCost(base);
    const on = estimateCost({ ...base, cache: { contextTokens: 8000 } });
    // The whole history (up to 32,000 bytes) instead of 3 turns, and the 1.25 write premium.
    assert.ok(on.inputTokens > off.inputTokens);
    assert.ok(on.cloudUsd! > off.cloudUsd!);
  });
});
