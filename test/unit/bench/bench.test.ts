import assert from 'node:assert/strict';
import { RESULT_KEYS, renderTable, roundResults, type BenchResults } from '../../../bench/report';
import { percentile, summarize } from '../../../bench/stats';
import type { CallTiming } from '../../../bench/timed-provider';
import { turnTimes } from '../../../bench/turn-overhead';

describe('bench: statistics and report (the full run is `npm run bench`, CI runs --quick)', () => {
  it('percentiles are nearest-rank on the sorted sample', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(s, 50), 50);
    assert.equal(percentile(s, 99), 99);
    assert.equal(percentile(s, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    const sum = summarize([3, 1, 2]);
    assert.deepEqual([sum.n, sum.min, sum.p50, sum.max, sum.mean], [3, 1, 2, 3, 2]);
  });

  it('a turn spans from its cloud call start to the next one, and the time outside calls is what is left', () => {
    const t = (side: 'cloud' | 'local', turn: number, start: number, end: number): CallTiming => ({
      side,
      conversationId: 'c',
      turn,
      start,
      end,
      ok: true,
    });
    const r = turnTimes([t('cloud', 1, 0, 2), t('local', 1, 3, 4), t('cloud', 2, 6, 8), t('local', 2, 9, 10)]);
    assert.deepEqual(r.turn, [6]);
    assert.deepEqual(r.calls, [3]);
    assert.deepEqual(r.outside, [3]);
  });

  it('the table names every key and marks targets met or missed; missing values stay null', () => {
    const results = Object.fromEntries(RESULT_KEYS.map((k) => [k, 1])) as unknown as BenchResults;
    results.context = {};
    results.turn_overhead_ms_p50 = 0.8;
    results.bullmq_hop_ms_p50 = 0.5;
    results.local_saturation = 0.5;
    results.redis_bytes_per_conversation = null;
    const table = renderTable(results);
    for (const k of RESULT_KEYS) assert.match(table, new RegExp(`\`${k}\``));
    assert.match(table, /`turn_overhead_ms_p50` \| 0\.80 ms \| [^|]+ \| yes \|/);
    assert.match(table, /`local_saturation` \| 0\.500 \| [^|]+ \| no \|/);
    assert.match(table, /`redis_bytes_per_conversation` \| n\/a \|/);
    assert.equal(roundResults(results).redis_bytes_per_conversation, null);
    assert.equal(roundResults({ ...results, redis_rtt_ms_p50: 0.123456 }).redis_rtt_ms_p50, 0.1235);
  });
});
