import assert from 'node:assert/strict';
import { generatedSeeds, parseGenerator, seededRandom } from '../../../runs/seed-generator';
import { readJsonRunBody } from '../../../runs/generator-body';
import { Readable } from 'node:stream';

describe('run generators (runs/seed-generator.ts, runs/generator-body.ts)', () => {
  const g = { personas: ['p0', 'p1', 'p2'], topics: ['t0', 't1', 't2', 't3'], count: 12, seed: 42 };

  it('count = personas × topics visits every pair once, in an order fixed by the seed', () => {
    const seeds = [...generatedSeeds(parseGenerator(g, undefined))];
    assert.equal(new Set(seeds.map((s) => `${s.fields!.persona}|${s.fields!.initialQuery}`)).size, 12);
    assert.deepEqual([...generatedSeeds(parseGenerator(g, undefined))], seeds, 'same generator, same seeds');
    const other = [...generatedSeeds(parseGenerator({ ...g, seed: 43 }, undefined))];
    assert.notDeepEqual(
      other.map((s) => s.fields),
      seeds.map((s) => s.fields),
    );
    const meta = seeds[3]!.meta!.generator as { seed: number; index: number; persona: number; topic: number };
    assert.deepEqual([meta.seed, meta.index], [42, 3]);
    assert.equal(seeds[3]!.fields!.persona, g.personas[meta.persona]);
    assert.equal(seeds[3]!.fields!.initialQuery, g.topics[meta.topic]);
    assert.equal(seeds[5]!.seedId, 'g42-5');
  });

  it('more seeds than pairs repeat pairs as distinct seeds (distinct ids); no personas: topics only', () => {
    const seeds = [...generatedSeeds(parseGenerator({ topics: ['a', 'b'], count: 5, seed: 1 }, undefined))];
    assert.equal(new Set(seeds.map((s) => s.seedId)).size, 5);
    assert.equal(seeds[0]!.fields!.persona, undefined);
    assert.deepEqual(
      seeds
        .map((s) => s.fields!.initialQuery)
        .slice(0, 2)
        .sort(),
      ['a', 'b'],
    );
  });

  it('seededRandom is the same sequence for the same seed, in [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    for (let i = 0; i < 100; i++) {
      const x = a();
      assert.equal(x, b());
      assert.ok(x >= 0 && x < 1);
    }
  });

  it('a large product is walked without materialising it (1,000 × 1,000 pairs, 10,000 seeds, all distinct)', () => {
    const big = {
      personas: Array.from({ length: 1000 }, (_, i) => `p${i}`),
      topics: Array.from({ length: 1000 }, (_, i) => `t${i}`),
      count: 10_000,
      seed: 5,
    };
    const pairs = new Set<string>();
    for (const s of generatedSeeds(parseGenerator(big, undefined))) pairs.add(`${s.fields!.persona}|${s.fields!.initialQuery}`);
    assert.equal(pairs.size, 10_000);
  });

  it('bad generators are refused naming the field; files need SAMPLER_DIR', () => {
    assert.throws(() => parseGenerator({ topics: ['x'], count: 0, seed: 1 }, undefined), /generator|count/);
    assert.throws(() => parseGenerator({ topics: ['x'], count: 1, seed: 1, extra: 1 }, undefined), /extra/);
    assert.throws(() => parseGenerator({ topics: { file: 't.txt' }, count: 1, seed: 1 }, undefined), /SAMPLER_DIR/);
  });

  it('a JSON body is a generator only when it is one object with "generator"; JSON Lines come back whole', async () => {
    const gen = await readJsonRunBody(Readable.from([Buffer.from('{"generator": {"topics": ["x"]},\n "maxTurns": 2}')]));
    assert.equal(gen.kind, 'generator');
    assert.deepEqual(gen.kind === 'generator' && gen.settings, { maxTurns: 2 });
    const lines = '{"initialQuery": "a"}\n{"initialQuery": "b"}\n';
    const seeds = await readJsonRunBody(Readable.from([Buffer.from(lines.slice(0, 10)), Buffer.from(lines.slice(10))]));
    assert.equal(seeds.kind, 'seeds');
    const text = async (r: Readable) => Buffer.concat(await r.toArray()).toString();
    assert.equal(seeds.kind === 'seeds' && (await text(seeds.body)), lines);
    // Over the peek limit: replayed, nothing lost.
    const long = await readJsonRunBody(Readable.from([Buffer.from(lines.slice(0, 10)), Buffer.from(lines.slice(10))]), 5);
    assert.equal(long.kind === 'seeds' && (await text(long.body)), lines);
  });
});
