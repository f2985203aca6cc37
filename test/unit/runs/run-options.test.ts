import assert from 'node:assert/strict';
import { parseRunOptions, toRunView } from '../../../runs/run-service';
import type { RunState } from '../../../store/run-store';

describe('run options and views', () => {
  it('query parameters are typed and override the Run-Options header', () => {
    const o = parseRunOptions(
      { maxTurns: '6', maxActive: '200', name: 'n', think: 'true' },
      JSON.stringify({ maxTurns: 2, systemPrompts: { cloud: 'be brief' } }),
    );
    assert.deepEqual(o, { defaults: { maxTurns: 6, think: true, systemPrompts: { cloud: 'be brief' } }, maxActive: 200, name: 'n' });
    assert.equal(parseRunOptions({ retryFailed: 'true' }, undefined).retryFailed, true);
    assert.equal(parseRunOptions({}, '{"retryFailed": true}').retryFailed, true);
  });

  it('a bad option is named', () => {
    assert.throws(() => parseRunOptions({ maxActive: '0' }, undefined), /maxActive: must be an integer/);
    assert.throws(() => parseRunOptions({ colour: 'red' }, undefined), /unknown field\(s\): colour/);
    assert.throws(() => parseRunOptions({}, '{nope'), /Run-Options header is not valid JSON/);
    assert.throws(() => parseRunOptions({ initialQuery: 'x' }, undefined), /initialQuery: give it per seed/);
  });

  it('throughput and ETA come from finished conversations over the run time', () => {
    const s: RunState = {
      id: 'r',
      name: '',
      createdAt: 0,
      updatedAt: 5_000,
      maxActive: 10,
      state: 'active',
      seeds: 100,
      duplicates: 0,
      rejected: 0,
      admitted: 30,
      active: 10,
      unadmitted: 0,
      retried: 0,
      tokens: 0,
      byStatus: { completed: 18, failed: 2 },
      byStopReason: {},
      waiting: 70,
      budget: null,
      judge: null,
    };
    const v = toRunView(s, 10_000);
    assert.equal(v.finished, 20);
    assert.equal(v.throughputPerSecond, 2);
    assert.equal(v.etaSeconds, 40);
    assert.equal(v.state, 'active');
    assert.equal(toRunView({ ...s, waiting: 0, active: 0, admitted: 100 }, 10_000).state, 'finished');
    assert.equal(
      toRunView({ ...s, waiting: 0, active: 0, admitted: 100, retried: 2 }, 10_000).state,
      'active',
      'retried seeds not yet admitted again',
    );
  });
});
