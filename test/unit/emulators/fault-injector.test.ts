import assert from 'node:assert/strict';
import { FaultInjector, FaultSettingsError, parseFaultSettings } from '../../../emulators/fault-injector';

/** A repeatable sequence of "random" numbers. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('FaultInjector', () => {
  it('enter() counts running calls and the most at once, and a reset keeps the running ones', () => {
    const f = new FaultInjector();
    const a = f.enter();
    const b = f.enter();
    a();
    a();
    assert.deepEqual([f.stats().inFlight, f.stats().maxInFlight], [1, 2]);
    f.resetStats();
    assert.deepEqual([f.stats().inFlight, f.stats().maxInFlight], [1, 1]);
    b();
    assert.equal(f.stats().inFlight, 0);
  });
  it('with no rules injects nothing and still counts calls by route and model', () => {
    const f = new FaultInjector();
    assert.equal(f.decide('chat', 'llama3.2'), undefined);
    assert.equal(f.decide('tags', undefined, false), undefined);
    assert.deepEqual(f.stats(), {
      calls: 2,
      byRoute: { chat: 1, tags: 1 },
      byModel: { 'llama3.2': 1 },
      faults: 0,
      faultsByKind: {},
      faultsByStatus: {},
      inFlight: 0,
      maxInFlight: 0,
    });
  });

  it('count: N applies to exactly the next N matching calls, then the rule is gone', () => {
    const f = new FaultInjector();
    f.set({ faults: [{ kind: 'status', status: 429, count: 2 }] });
    assert.deepEqual(f.decide('converse', 'm'), { kind: 'status', status: 429, message: undefined, errorType: undefined });
    assert.deepEqual(f.faults, [{ kind: 'status', status: 429, count: 1 }]);
    assert.equal(f.decide('converse', 'm')?.status, 429);
    assert.equal(f.decide('converse', 'm'), undefined);
    assert.deepEqual(f.faults, []);
  });

  it('rate 1 always fires and rate 0 never does', () => {
    const f = new FaultInjector({ random: () => 0 });
    f.set({
      faults: [
        { kind: 'hang', rate: 0 },
        { kind: 'malformed', rate: 1 },
      ],
    });
    for (let i = 0; i < 5; i++) assert.equal(f.decide('chat', 'x')?.kind, 'malformed');
  });

  it('a rate between 0 and 1 fires when the random draw is below it', () => {
    const f = new FaultInjector({ random: sequence(0.1, 0.5, 0.19, 0.9) });
    f.set({ faults: [{ kind: 'status', status: 503, rate: 0.2 }] });
    const fired = [0, 1, 2, 3].map(() => f.decide('chat', 'x') !== undefined);
    assert.deepEqual(fired, [true, false, true, false]);
    assert.deepEqual(f.stats().faultsByStatus, { '503': 2 });
  });

  it('random rates give about the configured share over many calls (Math.random)', () => {
    const f = new FaultInjector({ faults: [{ kind: 'status', status: 429, rate: 0.3 }] });
    for (let i = 0; i < 4000; i++) f.decide('chat', 'x');
    const share = f.stats().faults / 4000;
    assert.ok(share > 0.25 && share < 0.35, `share ${share}`);
  });

  it('a rule for one model leaves other models alone', () => {
    const f = new FaultInjector({ faults: [{ kind: 'status', status: 500, model: 'a' }] });
    assert.equal(f.decide('chat', 'b'), undefined);
    assert.equal(f.decide('chat', 'a')?.status, 500);
  });

  it('rules are tried in order and the first that fires wins', () => {
    const f = new FaultInjector({
      faults: [
        { kind: 'validation', count: 1 },
        { kind: 'status', status: 503 },
      ],
    });
    assert.equal(f.decide('chat', 'x')?.kind, 'validation');
    assert.equal(f.decide('chat', 'x')?.kind, 'status');
  });

  it('non-faultable calls are counted but never faulted', () => {
    const f = new FaultInjector({ faults: [{ kind: 'status', status: 503 }] });
    assert.equal(f.decide('version', undefined, false), undefined);
    assert.equal(f.stats().faults, 0);
  });

  it('set() keeps the field it is not given; reset() restores the start-up settings', () => {
    const f = new FaultInjector({ latencyMs: 50, faults: [{ kind: 'hang', rate: 0.1 }] });
    f.set({ latencyMs: 200 });
    assert.equal(f.latencyMs, 200);
    assert.deepEqual(f.faults, [{ kind: 'hang', rate: 0.1 }]);
    f.set({ faults: [] });
    assert.equal(f.latencyMs, 200);
    assert.deepEqual(f.faults, []);
    f.reset();
    assert.equal(f.latencyMs, 50);
    assert.deepEqual(f.faults, [{ kind: 'hang', rate: 0.1 }]);
  });

  it('resetStats() zeroes the counters', () => {
    const f = new FaultInjector({ faults: [{ kind: 'hang' }] });
    f.decide('chat', 'x');
    f.resetStats();
    assert.deepEqual(f.stats(), {
      calls: 0,
      byRoute: {},
      byModel: {},
      faults: 0,
      faultsByKind: {},
      faultsByStatus: {},
      inFlight: 0,
      maxInFlight: 0,
    });
  });

  it('stats() is a copy the caller cannot corrupt', () => {
    const f = new FaultInjector();
    f.decide('chat', 'x');
    f.stats().byRoute.chat = 99;
    assert.equal(f.stats().byRoute.chat, 1);
  });
});

describe('parseFaultSettings', () => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /JSON object/],
    [[], /JSON object/],
    [{ latency: 5 }, /unknown field\(s\) latency/],
    [{ latencyMs: -1 }, /latencyMs must be an integer >= 0/],
    [{ faults: {} }, /faults must be an array/],
    [{ faults: [{ kind: 'boom' }] }, /faults\[0\]\.kind must be one of status, hang/],
    [{ faults: [{ kind: 'status' }] }, /faults\[0\]\.status must be an integer 100-599/],
    [{ faults: [{ kind: 'hang', status: 500 }] }, /status is only allowed with kind "status"/],
    [{ faults: [{ kind: 'hang', rate: 1.5 }] }, /faults\[0\]\.rate must be a number in 0\.\.1/],
    [{ faults: [{ kind: 'hang', count: 0 }] }, /faults\[0\]\.count must be an integer >= 1/],
    [{ faults: [{ kind: 'hang', model: '' }] }, /faults\[0\]\.model must be a non-empty string/],
    [{ faults: [{ kind: 'hang', sometimes: true }] }, /unknown field\(s\) sometimes/],
  ];
  for (const [body, message] of bad) {
    it(`rejects ${JSON.stringify(body)}`, () => {
      assert.throws(
        () => parseFaultSettings(body),
        (err: unknown) => err instanceof FaultSettingsError && message.test(err.message),
      );
    });
  }

  it('accepts every documented field', () => {
    const settings = {
      latencyMs: 10,
      faults: [{ kind: 'status', status: 429, rate: 0.5, count: 2, model: 'm', message: 'slow down', errorType: 'ModelNotReadyException' }],
    };
    assert.deepEqual(parseFaultSettings(settings), settings);
  });
});
