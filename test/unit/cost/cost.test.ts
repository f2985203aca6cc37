import assert from 'node:assert/strict';
import { SHIPPED_CATALOG } from '../../../shared/model-catalog';
import { conversationCost } from '../../../cost/conversation-cost';
import { estimateCost } from '../../../cost/estimate';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callCostUsd, cloudPriced, DEFAULT_PRICES, loadPriceTable, parsePriceFile, priceOf } from '../../../cost/price-table';
import type { TurnRecord } from '../../../conversation/model';
import { ConfigError } from '../../../shared/errors';

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const haiku = SHIPPED_CATALOG.prices(HAIKU)!;

describe('price table', () => {
  it('prices a Bedrock model from the model catalogue, per 1k input and output tokens', () => {
    assert.equal(
      callCostUsd(HAIKU, 'cloud', 2000, 1000, DEFAULT_PRICES),
      Math.round((2 * haiku.inputPer1k + haiku.outputPer1k) * 1e9) / 1e9,
    );
  });

  it('prices an inference-profile id and a foundation-model ARN as their base model', () => {
    const base = priceOf(HAIKU, 'cloud', DEFAULT_PRICES);
    assert.deepEqual(priceOf(`us.${HAIKU}`, 'cloud', DEFAULT_PRICES), base);
    assert.deepEqual(priceOf(`arn:aws:bedrock:us-east-1::foundation-model/${HAIKU}`, 'cloud', DEFAULT_PRICES), base);
  });

  it('an unknown cloud model has no price: cost null, never a guess', () => {
    assert.equal(priceOf('acme.unknown-model-v1', 'cloud', DEFAULT_PRICES), undefined);
    assert.equal(callCostUsd('acme.unknown-model-v1', 'cloud', 10, 10, DEFAULT_PRICES), null);
  });

  it('local models cost 0 by default and the file\'s "local" figure when set; a listed local model its own', () => {
    assert.equal(callCostUsd('llama3.2', 'local', 1000, 1000, DEFAULT_PRICES), 0);
    const t = parsePriceFile(
      JSON.stringify({ local: { inputPer1k: 0.001, outputPer1k: 0.002 }, models: { 'qwen3:8b': { inputPer1k: 0.01, outputPer1k: 0.01 } } }),
    );
    assert.equal(callCostUsd('llama3.2', 'local', 1000, 1000, t), 0.003);
    assert.equal(callCostUsd('qwen3:8b', 'local', 1000, 1000, t), 0.02);
  });

  it('the file overrides a shipped price (matched on the base id) and prices an unknown model', () => {
    const t = parsePriceFile(
      JSON.stringify({ models: { [`us.${HAIKU}`]: { inputPer1k: 1, outputPer1k: 2 }, 'acme.m': { inputPer1k: 0.5, outputPer1k: 0.5 } } }),
    );
    assert.equal(callCostUsd(HAIKU, 'cloud', 1000, 1000, t), 3);
    assert.equal(callCostUsd('acme.m', 'cloud', 2000, 0, t), 1);
  });

  it('MODEL_CATALOG_FILE changes a price; PRICES_FILE still wins over it; a geographic profile carries its markup', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prices-'));
    try {
      const catalog = path.join(dir, 'catalog.json');
      writeFileSync(
        catalog,
        JSON.stringify({
          families: [
            {
              family: 'Haiku 3 at our price',
              match: '^anthropic\\.claude-3-haiku-',
              prices: { inputPer1k: 0.1, outputPer1k: 0.2 },
              source: 'test',
              readOn: '2026-12-02',
            },
          ],
        }),
      );
      const byCatalog = loadPriceTable(undefined, catalog);
      assert.equal(loadPriceTable(undefined, catalog), byCatalog, 'one table per pair of files');
      assert.equal(callCostUsd(HAIKU, 'cloud', 1000, 1000, byCatalog), 0.3);
      assert.equal(callCostUsd('amazon.nova-micro-v1:0', 'cloud', 1000, 0, byCatalog), 0.000035, 'the rest from the shipped rows');
      const prices = path.join(dir, 'prices.json');
      writeFileSync(prices, JSON.stringify({ models: { [HAIKU]: { inputPer1k: 1, outputPer1k: 1 } } }));
      assert.equal(callCostUsd(HAIKU, 'cloud', 1000, 1000, loadPriceTable(prices, catalog)), 2);
      assert.equal(cloudPriced({ modelCatalogFile: catalog })('acme.x'), false);
      assert.equal(cloudPriced({ pricesFile: prices })(HAIKU), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(callCostUsd('us.anthropic.claude-opus-4-7', 'cloud', 1000, 1000, DEFAULT_PRICES), 0.033);
    assert.equal(callCostUsd('global.anthropic.claude-opus-4-7', 'cloud', 1000, 1000, DEFAULT_PRICES), 0.03);
  });

  it('a bad file is a ConfigError naming PRICES_FILE and the entry', () => {
    assert.throws(
      () => parsePriceFile('{'),
      (e: unknown) => e instanceof ConfigError && e.key === 'PRICES_FILE' && /not valid JSON/.test(e.message),
    );
    assert.throws(() => parsePriceFile('{"models":{"m":{"inputPer1k":-1,"outputPer1k":0}}}'), /models\["m"\]/);
    assert.throws(() => parsePriceFile('{"model":{}}'), /unknown key\(s\) model/);
  });
});

describe('conversationCost', () => {
  const step = (model: string, i: number, o: number) => ({
    model,
    inputTokens: i,
    outputTokens: o,
    latencyMs: 1,
    stopReason: 'end_turn',
    at: 0,
  });
  const turns = (cloudModel: string): TurnRecord[] => [
    {
      turn: 1,
      cloud: { ...step(cloudModel, 100, 50), question: 'q', answer: 'a', startedAt: 0 },
      local: { ...step('llama3.2', 70, 20), prompt: 'p', followUp: 'f' },
    },
    { turn: 2, cloud: { ...step(cloudModel, 300, 80), question: 'q', answer: 'a', startedAt: 0 } },
  ];

  it('sums the steps per side by the table', () => {
    const c = conversationCost(turns(HAIKU), DEFAULT_PRICES);
    const expected = (400 * haiku.inputPer1k + 130 * haiku.outputPer1k) / 1000;
    assert.ok(Math.abs(c.cloudUsd! - expected) < 1e-9, `${c.cloudUsd} vs ${expected}`);
    assert.equal(c.localUsd, 0);
    assert.equal(c.totalUsd, c.cloudUsd);
    assert.deepEqual(c.unpricedModels, []);
  });

  it('a step without a price makes its side and the total unknown, and names the model', () => {
    const c = conversationCost(turns('acme.x'), DEFAULT_PRICES);
    assert.equal(c.cloudUsd, null);
    assert.equal(c.totalUsd, null);
    assert.equal(c.localUsd, 0);
    assert.deepEqual(c.unpricedModels, ['acme.x']);
  });
});

describe('estimateCost', () => {
  it('bounds every call by maxTokens out and prompt + history in, priced by the table', () => {
    const e = estimateCost({
      seeds: ['abcd', { initialQuery: 'xy', maxTurns: 1 }],
      turns: 2,
      maxTokens: 100,
      models: { cloud: HAIKU, local: 'llama3.2' },
      prices: DEFAULT_PRICES,
      contextTurns: 3,
    });
    // Seed 1: turn 1 cloud in 4, local in 100; turn 2 cloud in 100 + 200, local in 100 + 200. Seed 2: cloud 2, local 100.
    const cloudIn = 4 + 300 + 2;
    const cloudOut = 300;
    assert.equal(e.conversations, 2);
    assert.equal(e.calls, 6);
    assert.equal(e.inputTokens, cloudIn + 100 + 300 + 100);
    assert.equal(e.outputTokens, 600);
    assert.ok(Math.abs(e.cloudUsd! - (cloudIn * haiku.inputPer1k + cloudOut * haiku.outputPer1k) / 1000) < 1e-9);
    assert.equal(e.localUsd, 0);
  });

  it('an unpriced model makes the total unknown and is named', () => {
    const e = estimateCost({
      seeds: ['q'],
      turns: 1,
      maxTokens: 10,
      models: { cloud: 'acme.x', local: 'llama3.2' },
      prices: DEFAULT_PRICES,
    });
    assert.equal(e.totalUsd, null);
    assert.deepEqual(e.unpricedModels, ['acme.x']);
  });
});
