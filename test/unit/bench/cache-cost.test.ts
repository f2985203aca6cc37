/**
 * Issue 24: caching on never costs more than caching off for the same prompts, measured the way
 * `npm run bench -- --only=cache` measures it (bench/cache-cost.ts: the pipeline's calls, the real
 * SDK against the Bedrock emulator's prompt cache, the catalogue's prices). Claude Haiku 4.5 needs
 * 4,096 tokens per checkpoint: before the fix, one of the five 10-turn seeds reached it on its last
 * turn, wrote 4,097 tokens at the write premium and nothing ever read them (45.55 against 45.32
 * USD per 1,000 conversations).
 */
import assert from 'node:assert/strict';
import { measureCacheCost } from '../../../bench/cache-cost';

describe('bench/cache-cost.ts: caching on against off, same prompts', function () {
  this.timeout(120_000);
  it('costs no more with caching on, and no checkpoint of a conversation’s last call is written unread', async () => {
    // `blocks` asked: the default for Haiku at this size is now the sliding window (conversation-request.ts).
    const { rows } = await measureCacheCost({
      models: ['us.anthropic.claude-haiku-4-5-20251001-v1:0', 'amazon.nova-micro-v1:0'],
      contextPolicy: 'blocks',
    });
    for (const r of rows) {
      assert.ok(r.cachedUsdPer1k <= r.uncachedUsdPer1k + 1e-9, `${r.model}, ${r.turns} turns: ${r.cachedUsdPer1k} > ${r.uncachedUsdPer1k}`);
    }
    assert.ok(rows.every((r) => r.policy === 'blocks'));
    const haiku10 = rows.find((r) => r.model.includes('haiku') && r.turns === 10)!;
    assert.equal(haiku10.cacheWriteTokens, 0, 'ten Haiku turns of this size never reach 4,096 tokens before the last call');
    assert.ok(rows.find((r) => r.model.includes('nova') && r.turns === 10)!.ratio < 0.7, 'caching still pays where the minimum is reached');
  });

  it('the default policy: the sliding window for Haiku 4.5 at this size (caching on costs what off costs), blocks for Nova', async () => {
    const { rows } = await measureCacheCost({
      quick: true,
      models: ['us.anthropic.claude-haiku-4-5-20251001-v1:0', 'amazon.nova-micro-v1:0'],
    });
    for (const r of rows) assert.equal(r.policy, r.model.includes('haiku') ? 'sliding' : 'blocks', r.model);
    for (const r of rows.filter((x) => x.model.includes('haiku'))) assert.ok(r.cachedUsdPer1k <= r.slidingUsdPer1k + 1e-9);
  });
});
