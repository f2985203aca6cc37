/**
 * The fleet-wide facts about models the catalogue does not know (store/model-quirks.ts), against a
 * real redis-server: learned once by any worker, read by every worker, merged without loss when
 * workers learn at once, bounded in size.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MAX_QUIRK_MODELS, ModelQuirks, modelQuirksKey } from '../../../store/model-quirks';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

describe('ModelQuirks (real Redis)', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(testRedisUrl());
  });
  after(() => redis.disconnect());

  it('what one worker learns every other reads; known parameters only, each once', async () => {
    const prefix = uniquePrefix('quirks');
    const a = new ModelQuirks(redis, prefix);
    const other = redis.duplicate();
    const b = new ModelQuirks(other, prefix);
    assert.deepEqual(await b.omissionsFor(['m1', 'm2']), {});
    assert.equal(await a.learn('m1', ['temperature', 'bogus']), 1);
    assert.equal(await a.learn('m1', ['temperature']), 0);
    assert.deepEqual(await b.omissionsFor(['m1', 'm2', 'm1', '']), { m1: ['temperature'] });
    assert.equal(await a.learn('', ['temperature']), 0);
    assert.equal(await a.learn('m2', ['bogus']), 0);
    other.disconnect();
  });

  it('workers learning at once lose nothing (one Lua script per learn)', async () => {
    const prefix = uniquePrefix('quirks');
    const conns = Array.from({ length: 6 }, () => redis.duplicate());
    const params = ['temperature', 'top_p', 'system'];
    await Promise.all(conns.map((c, i) => new ModelQuirks(c, prefix).learn('m', [params[i % 3]!])));
    const got = (await new ModelQuirks(redis, prefix).omissionsFor(['m'])).m!;
    assert.deepEqual([...got].sort(), [...params].sort());
    for (const c of conns) c.disconnect();
  });

  it(`keeps at most ${MAX_QUIRK_MODELS} models; a bad hand-edited entry is ignored`, async () => {
    const prefix = uniquePrefix('quirks');
    const key = modelQuirksKey(prefix);
    const fill = Object.fromEntries(Array.from({ length: MAX_QUIRK_MODELS }, (_, i) => [`m${i}`, '["system"]']));
    await redis.hset(key, fill);
    const quirks = new ModelQuirks(redis, prefix);
    assert.equal(await quirks.learn('new-model', ['temperature']), 0);
    assert.equal(await quirks.learn('m1', ['temperature']), 1, 'a known model still learns');
    await redis.hset(key, 'broken', 'not json');
    assert.deepEqual(await quirks.omissionsFor(['broken', 'm1']), { m1: ['system', 'temperature'] });
  });
});
