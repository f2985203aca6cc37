import assert from 'node:assert/strict';
import { runBudgetKey } from '../../../store/budget-store';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

const ndjson = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ initialQuery: `${tag} question ${i}?` })).join('\n') + '\n';

/**
 * A run's own budget (`runBudget`): every call of its conversations reserves its worst case against
 * it (one Lua script with the conversation's budget), and once a call cannot be covered the run
 * stops admitting and says why, instead of admitting seeds that would each end at once.
 */
describe('run budget (real Redis, HTTP, emulators, workers)', function () {
  this.timeout(120_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ CLOUD_CONCURRENCY: '8', LOCAL_CONCURRENCY: '8' }, { emulatorLatencyMs: 0 });
  });
  after(async () => {
    await stack?.close();
  });

  it('a run whose token budget runs out stops admitting, says so, and never spends past it', async () => {
    const tokens = 4000;
    const res = await stack.http.post('/runs?maxTurns=2&maxTokens=200&maxActive=3', ndjson(40, 'budgeted'), {
      headers: { 'content-type': 'application/x-ndjson', 'run-options': JSON.stringify({ runBudget: { tokens } }) },
      transformRequest: [(d) => d],
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const runId = res.data.runId as string;
    let view: any;
    await until(
      async () => {
        view = (await stack.http.get(`/runs/${runId}`)).data;
        return view.state !== 'active';
      },
      90_000,
      'the run to stop',
    );
    assert.equal(view.state, 'budget_exhausted', JSON.stringify(view));
    assert.ok(view.waiting > 0, 'seeds still wait: the run stopped admitting them');
    assert.ok(view.admitted < 40, `admitted ${view.admitted} of 40`);
    assert.match(view.budget.exhausted, /run .* budget of 4000 tokens cannot cover/);
    assert.equal(view.budget.tokens, tokens);
    // Never past the budget: what was booked (real usage) stays within it, nothing left reserved.
    const h = await stack.store.redis.hgetall(runBudgetKey(stack.store.shards.at(runId), runId));
    assert.ok(Number(h.spentTokens) <= tokens, `spent ${h.spentTokens} of ${tokens}`);
    assert.ok(Number(h.spentTokens) > 0);
    assert.equal(Number(h.resTokens ?? 0), 0);
    assert.ok((view.byStopReason.budget_exhausted ?? 0) >= 1, JSON.stringify(view.byStopReason));
    assert.equal(typeof view.costUsd, 'number');
  });

  it('a run without its own budget still tracks what its calls cost; a bad runBudget is a 400 naming it', async () => {
    const res = await stack.http.post('/runs?maxTurns=1&maxActive=5', ndjson(4, 'costed'), {
      headers: { 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });
    assert.equal(res.status, 202);
    let view: any;
    await until(
      async () => {
        view = (await stack.http.get(`/runs/${res.data.runId}`)).data;
        return view.state === 'finished';
      },
      60_000,
      'the run to finish',
    );
    assert.equal(view.budget, null);
    // The emulated cloud model is priced (Amazon Nova Micro, the default), so 4 conversations cost something.
    assert.ok(view.costUsd > 0, JSON.stringify(view));
    const bad = await stack.http.post('/runs?runBudgetTokens=-3', ndjson(1, 'bad'), {
      headers: { 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.data), /runBudget/);
  });
});
