/**
 * Cost, budgets and quality gates through the whole pipeline: the real producer, workers, local
 * API Gateway + Lambda handler and the Bedrock and Ollama emulators (real AWS SDK and ollama
 * clients). The emulators' replies are deterministic; `[emulate:refuse]` and `[emulate:repeat]`
 * (emulators/README.md) make a reply that exhibits a problem.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { SHIPPED_CATALOG } from '../../shared/model-catalog';
import { CSV_COLUMNS } from '../../transcript/transcript-csv';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

// The default cloud model (Amazon Nova Micro), priced by the model catalogue.
const MODEL = 'amazon.nova-micro-v1:0';
const PRICE = SHIPPED_CATALOG.prices(MODEL)!;

function readCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

describe('cost, budgets and quality gates (real pipeline and emulators)', function () {
  this.timeout(90_000);
  let stack: TestStack;

  before(async () => {
    // The cloud model is priced by the model catalogue, the local one at 0.
    stack = await startTestStack({ BEDROCK_MODEL_ID: MODEL });
  });
  after(async () => {
    await stack?.close();
  });

  async function run(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return waitForConversation(stack, res.data.conversationId, 60_000);
  }

  it('costs: every step priced by the table, totals are their sums, the CSV and /metrics carry them', async () => {
    const view = await run({ initialQuery: 'What is Redis used for?', maxTurns: 3 });
    assert.equal(view.status, 'completed');
    let cloud = 0;
    for (const t of view.turns) {
      const expected = (t.cloud.inputTokens * PRICE.inputPer1k + t.cloud.outputTokens * PRICE.outputPer1k) / 1000;
      assert.ok(
        t.cloud.inputTokens > 0 && Math.abs(t.cloud.costUsd - expected) < 1e-9,
        `turn ${t.turn}: ${t.cloud.costUsd} vs ${expected}`,
      );
      assert.equal(t.local.costUsd, 0);
      cloud += expected;
    }
    assert.ok(Math.abs(view.cost.cloudUsd - cloud) < 1e-8);
    assert.equal(view.cost.localUsd, 0);
    assert.equal(view.cost.totalUsd, view.cost.cloudUsd);
    assert.deepEqual(view.cost.unpricedModels, []);
    const rows = readCsv(view.transcriptFile);
    assert.deepEqual(Object.keys(rows[0]!), [...CSV_COLUMNS]);
    assert.deepEqual(Object.keys(rows[0]!).slice(-6, -4), ['cloud_cost_usd', 'local_cost_usd']);
    assert.deepEqual(
      rows.map((r) => Number(r.cloud_cost_usd)),
      view.turns.map((t: { cloud: { costUsd: number } }) => t.cloud.costUsd),
    );
    assert.deepEqual(
      rows.map((r) => r.local_cost_usd),
      ['0', '0', '0'],
    );
    // /metrics: the cost counter by model holds at least this conversation's cloud cost.
    const metrics = String((await stack.http.get('/metrics')).data);
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('llmconv_llm_cost_usd_total{') && l.includes('side="cloud"') && l.includes(`model="${MODEL}"`));
    assert.ok(line && Number(line.split(' ').at(-1)) >= cloud - 1e-8, `no cost sample: ${line}`);
  });

  it('an unpriced cloud model: cost null in the view and empty in the CSV, the model named', async () => {
    const view = await run({ initialQuery: 'Hello?', maxTurns: 1, cloudModel: 'amazon.titan-embed-image-v1' });
    if (view.status !== 'completed') return assert.fail(`conversation ${view.status}: ${view.error}`);
    assert.equal(view.turns[0].cloud.costUsd, null);
    assert.equal(view.cost.totalUsd, null);
    assert.deepEqual(view.cost.unpricedModels, ['amazon.titan-embed-image-v1']);
    assert.equal(readCsv(view.transcriptFile)[0]!.cloud_cost_usd, '');
  });

  it('a budget smaller than the worst case is used: maxTokens is lowered to what fits (down to MIN_BUDGET_MAX_TOKENS), never over', async () => {
    // Before: budget 400 < input bound + DEFAULT_MAX_TOKENS (1024), so the first call was refused: 0 turns, 0 tokens.
    const view = await run({ initialQuery: 'Explain caching.', maxTurns: 10, budget: { tokens: 400 } });
    assert.equal(view.status, 'completed');
    assert.equal(view.stopReason, 'budget_exhausted');
    assert.ok(view.turns.length >= 1, `${view.turns.length} turns`);
    console.log(
      `      budget 400 tokens: ${view.turns.length} turns, spent ${view.budget.spentTokens} (the input bound counts bytes, the emulator words)`,
    );
    assert.ok(view.budget.spentTokens > 0 && view.budget.spentTokens <= 400, `spent ${view.budget.spentTokens} of 400`);
    assert.equal(view.budget.reservedTokens, 0);
  });

  it('a token budget too small for the next call ends the conversation completed, budget_exhausted, with its transcript and no overspend', async () => {
    // Each call reserves its prompt bytes + overheads + maxTokens (50): a few calls fit in 900 tokens, not 10 turns.
    const view = await run({ initialQuery: 'Explain caching.', maxTurns: 10, maxTokens: 50, budget: { tokens: 900 } });
    assert.equal(view.status, 'completed');
    assert.equal(view.stopReason, 'budget_exhausted');
    assert.ok(view.turns.length >= 1 && view.turns.length < 10, `${view.turns.length} turns`);
    const used =
      view.totals.cloudInputTokens + view.totals.cloudOutputTokens + view.totals.localInputTokens + view.totals.localOutputTokens;
    assert.equal(view.budget.spentTokens, used, 'the budget booked exactly the real usage');
    assert.ok(used <= 900, `spent ${used} of 900`);
    assert.equal(view.budget.reservedTokens, 0);
    const rows = readCsv(view.transcriptFile);
    assert.equal(rows.length, view.turns.length);
    assert.equal(rows[0]!.stop_reason, 'budget_exhausted');
  });

  it('a USD budget stops the conversation before it spends more than the budget', async () => {
    const view = await run({ initialQuery: 'Explain indexing.', maxTurns: 10, maxTokens: 100, budget: { usd: 0.00005 } });
    assert.equal(view.stopReason, 'budget_exhausted');
    assert.ok(view.cost.totalUsd <= 0.00005 && view.cost.totalUsd > 0, `cost ${view.cost.totalUsd}`);
    assert.ok(Math.abs(view.budget.spentUsd - view.cost.totalUsd) < 1e-8);
  });

  it('degenerate: a refusing reply stops the conversation; ordinary replies with the gate on do not', async () => {
    const refused = await run({ initialQuery: 'Tell me about locks. [emulate:refuse]', maxTurns: 4, quality: { degenerate: true } });
    assert.equal(refused.status, 'completed');
    assert.equal(refused.stopReason, 'degenerate');
    assert.equal(refused.turns.length, 1);
    assert.equal(refused.turns[0].ollamaResponse, null);
    const ordinary = await run({ initialQuery: 'Tell me about locks.', maxTurns: 4, quality: { degenerate: true, repetition: {} } });
    assert.equal(ordinary.stopReason, 'max_turns');
    assert.equal(ordinary.turnsCompleted, 4);
  });

  it('repetition: replies that repeat an earlier one of their side stop the conversation (threshold 0.9)', async () => {
    const view = await run({
      initialQuery: 'Tell me about queues. [emulate:repeat]',
      maxTurns: 5,
      templates: { followUp: '[emulate:repeat] Comment on: {{answer}}', nextQuery: '[emulate:repeat] And: {{followUp}}' },
      quality: { repetition: { threshold: 0.9 } },
    });
    assert.equal(view.stopReason, 'repetition');
    // Turn 1 has nothing to repeat; turn 2's cloud answer repeats turn 1's.
    assert.equal(view.turns.length, 2);
    assert.equal(view.turns[1].cloudResponse, view.turns[0].cloudResponse);
    assert.equal(view.turns[1].ollamaResponse, null);
    // Without the gate the same conversation runs to maxTurns.
    const off = await run({
      initialQuery: 'Tell me about queues. [emulate:repeat]',
      maxTurns: 3,
      templates: { followUp: '[emulate:repeat] Comment on: {{answer}}', nextQuery: '[emulate:repeat] And: {{followUp}}' },
    });
    assert.equal(off.stopReason, 'max_turns');
  });

  it('max_tokens_total: stops at the first step that brings the total to the cap', async () => {
    const view = await run({ initialQuery: 'Tell me about sharding.', maxTurns: 10, quality: { maxTokensTotal: 150 } });
    assert.equal(view.stopReason, 'max_tokens_total');
    const steps = view.turns.flatMap(
      (t: { cloud: { inputTokens: number; outputTokens: number }; local: { inputTokens: number; outputTokens: number } | null }) =>
        [t.cloud, t.local].filter(Boolean),
    );
    const total = steps.reduce((n: number, s: { inputTokens: number; outputTokens: number }) => n + s.inputTokens + s.outputTokens, 0);
    const last = steps.at(-1)!;
    assert.ok(total >= 150 && total - last.inputTokens - last.outputTokens < 150, `total ${total}`);
  });

  it('bad budget and quality values are 400s naming the field', async () => {
    const a = await stack.http.post('/conversation', { initialQuery: 'x', budget: {} });
    assert.equal(a.status, 400);
    assert.match(JSON.stringify(a.data), /budget/);
    const b = await stack.http.post('/conversation', { initialQuery: 'x', quality: { repetition: { threshold: 2 } } });
    assert.equal(b.status, 400);
    assert.match(JSON.stringify(b.data), /quality\.repetition\.threshold/);
  });
});
