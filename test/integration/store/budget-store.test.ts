/**
 * Budgets against a real redis-server: reserve and settle are one Lua script each, so no number
 * of processes and connections can spend past a limit. The overspend test runs several OS
 * processes (test/helpers/budget-hammer.ts), each with many connections, against one small
 * conversation budget and one run budget at once, and reports the largest overshoot (must be 0).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { BudgetStore, conversationBudgetKey, runBudgetKey, type BudgetScope } from '../../../store/budget-store';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

const ROOT = path.resolve(__dirname, '../../..');

function hammer(
  scopes: BudgetScope[],
  connections: number,
  refusals: number,
): Promise<{ granted: number; refused: number; refusedBy: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/budget-hammer.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: testRedisUrl(),
        SCOPES: JSON.stringify(scopes),
        CONNECTIONS: String(connections),
        REFUSALS: String(refusals),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer exited ${code}: ${err}`))));
  });
}

describe('budget store (real Redis)', function () {
  this.timeout(120_000);
  let redis: Redis;
  let store: BudgetStore;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(testRedisUrl());
    store = new BudgetStore(redis);
    prefix = uniquePrefix('budget');
  });
  afterEach(() => redis.disconnect());

  it('many processes and connections hammering one small budget never overspend it (overshoot 0)', async () => {
    const conv: BudgetScope = {
      name: 'conversation',
      key: conversationBudgetKey(prefix, 'c1'),
      init: { usdNano: 1_000_000, tokens: 100_000 },
    };
    // The run budget is written by the run's admission; here by hand: tokens are its binding limit.
    const run: BudgetScope = { name: 'run r1', key: runBudgetKey(prefix, 'r1') };
    await redis.hset(run.key, 'tokens', 5000);
    const runOnly: BudgetScope = { ...run };
    // Process group A spends through the conversation and the run; group B through the run only.
    const results = await Promise.all([
      hammer([conv, run], 12, 15),
      hammer([conv, run], 12, 15),
      hammer([conv, run], 12, 15),
      hammer([runOnly], 12, 15),
      hammer([runOnly], 12, 15),
      hammer([runOnly], 12, 15),
    ]);
    const c = (await store.state(conv.key))!;
    const r = (await store.state(run.key))!;
    const granted = results.reduce((n, x) => n + x.granted, 0);
    const overshoot = Math.max(0, c.spentUsdNano - 1_000_000, c.spentTokens - 100_000, r.spentTokens - 5000);
    console.log(
      `      6 processes x 12 connections: ${granted} calls granted, conversation spent $${c.spentUsdNano / 1e9} of $0.001, run ${r.spentTokens} of 5000 tokens; largest overshoot ${overshoot}`,
    );
    assert.ok(granted > 20, `the hammer made only ${granted} calls`);
    assert.equal(overshoot, 0);
    // Every reservation was settled or released.
    assert.equal(c.reservedUsdNano, 0);
    assert.equal(c.reservedTokens, 0);
    assert.equal(r.reservedTokens, 0);
    // And both budgets were really used up, not refused early: each within one call's worst case.
    // Group A needs both budgets: when group B's processes (started first under load) use up the
    // run's tokens before A has spent the conversation's dollars, A is stopped by the run, and the
    // conversation was then never the one refusing: that is not an early refusal.
    const aRefusedByConversation = results.slice(0, 3).reduce((n, x) => n + (x.refusedBy.conversation ?? 0), 0);
    assert.ok(
      c.spentUsdNano > 1_000_000 - 51_000 || aRefusedByConversation === 0,
      `conversation budget refused ${aRefusedByConversation} calls yet is not used up: $${c.spentUsdNano / 1e9}`,
    );
    assert.ok(r.spentTokens > 5000 - 41, `run budget not used up: ${r.spentTokens} tokens`);
  });

  it('refuses what would exceed, names the budget and the amounts, and reserves nowhere when one refuses', async () => {
    const conv: BudgetScope = { name: 'conversation', key: conversationBudgetKey(prefix, 'c2'), init: { tokens: 100 } };
    const run: BudgetScope = { name: 'run r2', key: runBudgetKey(prefix, 'r2') };
    await redis.hset(run.key, 'tokens', 50);
    assert.deepEqual(await store.reserve([conv, run], 'a', { usdNano: 0, tokens: 40 }, 60_000, 60), { ok: true });
    const r = await store.reserve([conv, run], 'b', { usdNano: 0, tokens: 20 }, 60_000, 60);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.scope === 'run r2' && r.reason === 'tokens');
    assert.match(
      !r.ok ? r.message : '',
      /run r2 budget of 50 tokens cannot cover the next call's worst case of 20 tokens \(spent 0 tokens, reserved by running calls 40 tokens\)/,
    );
    assert.equal((await store.state(conv.key))!.reservedTokens, 40, 'the refused call reserved nothing on the conversation');
    await store.settle([conv, run], 'a', { usdNano: 0, tokens: 10 });
    assert.deepEqual(
      await store.reserve([conv, run], 'b', { usdNano: 0, tokens: 20 }, 60_000, 60),
      { ok: true },
      'the unused 30 tokens were released',
    );
  });

  it('a USD budget refuses a model without a price; a tokens-only budget does not', async () => {
    const usd: BudgetScope = { name: 'conversation', key: conversationBudgetKey(prefix, 'c3'), init: { usdNano: 1e9 } };
    const r = await store.reserve([usd], 'a', { usdNano: null, tokens: 1 }, 60_000, 60);
    assert.ok(!r.ok && r.reason === 'price_unknown' && /MODEL_CATALOG_FILE/.test(r.message));
    const tok: BudgetScope = { name: 'conversation', key: conversationBudgetKey(prefix, 'c4'), init: { tokens: 10 } };
    assert.equal((await store.reserve([tok], 'a', { usdNano: null, tokens: 1 }, 60_000, 60)).ok, true);
  });

  it("a crashed worker's reservation expires and frees its share", async () => {
    const conv: BudgetScope = { name: 'conversation', key: conversationBudgetKey(prefix, 'c5'), init: { tokens: 100 } };
    assert.equal((await store.reserve([conv], 'crashed', { usdNano: 0, tokens: 90 }, 200, 60)).ok, true);
    assert.equal((await store.reserve([conv], 'next', { usdNano: 0, tokens: 90 }, 60_000, 60)).ok, false, 'held while it lives');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await store.reserve([conv], 'next', { usdNano: 0, tokens: 90 }, 60_000, 60)).ok, true, 'released once expired');
    assert.equal((await store.state(conv.key))!.reservedTokens, 90);
  });

  it('a run without a budget hash does not limit its conversations', async () => {
    const run: BudgetScope = { name: 'run r9', key: runBudgetKey(prefix, 'r9') };
    assert.deepEqual(await store.reserve([run], 'a', { usdNano: 5, tokens: 1e9 }, 60_000, 60), { ok: true });
    assert.equal(await redis.exists(run.key), 0);
  });
});
