/**
 * Every key a store script touches is one of its KEYS (Redis Cluster refuses others): each script
 * runs with a prelude (test/helpers/lua/declared-keys.lua) that checks every Redis call it makes
 * against its KEYS with the server's COMMAND GETKEYS, while the stores do their ordinary work on
 * a real Redis: runs with owners, conversations created, stepped, finished and retried, budgets,
 * judgements, limiter windows and slot leases. Every loaded script must have run under the check.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { coordinationScripts } from '../../../coordination/redis-script';
import { RedisScript, readScript, setScriptPrelude } from '../../../shared/redis-script';
import { storeScripts } from '../../../store/redis-script';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { exerciseEveryScript } from '../../helpers/store-workload';

const PRELUDE = fs.readFileSync(path.join(__dirname, '../../helpers/lua/declared-keys.lua'), 'utf8');
/** Scripts that keep to their KEYS or do not, to show the check can fail. */
const SAMPLES = path.join(__dirname, '../../helpers/lua/samples');
const shaOf = (source: string) => createHash('sha1').update(`${PRELUDE}\n${source}`).digest('hex');

describe('store scripts touch only the keys they are given (real Redis, every call checked)', () => {
  let redis: Redis;
  let prefix: string;

  before(() => setScriptPrelude(PRELUDE));
  after(() => setScriptPrelude(''));
  beforeEach(() => {
    redis = new Redis(testRedisUrl());
    prefix = uniquePrefix('keys');
  });
  afterEach(() => redis.quit());

  it('the check refuses a script that builds a key name, and passes one that keeps to its KEYS', async () => {
    const k = `${prefix}:x`;
    const sample = (name: string) => new RedisScript(readScript(name, SAMPLES).source, 1, name);
    assert.equal(await sample('keeps-to-keys').run(redis, [k], []), '1');
    await assert.rejects(sample('builds-key').run(redis, [k], []), /UNDECLARED HGET .*:x:other is not one of the KEYS/);
    await assert.rejects(sample('key-in-argv').run(redis, [k], [`${prefix}:y`]), /UNDECLARED DEL/);
  });

  it('every store script, run by its store', async () => {
    await redis.script('FLUSH');
    await exerciseEveryScript(redis, prefix);

    // Each script ran with the check in front of it (the checked source is in the script cache).
    const scripts = [...storeScripts.loaded.values(), ...coordinationScripts.loaded.values()];
    assert.ok(scripts.length >= 23, `scripts loaded: ${scripts.length}`);
    const exists = (await redis.script('EXISTS', ...scripts.map((s) => shaOf(s.source)))) as number[];
    assert.deepEqual(
      scripts.filter((_, i) => exists[i] !== 1).map((s) => s.name),
      [],
      'every store script ran under the check',
    );
  });
});
