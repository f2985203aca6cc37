import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { abortScope } from '../../../providers/abort-scope';

describe('abortScope', () => {
  it("aborts with a parent's reason, and reports it was not its timeout", () => {
    const parent = new AbortController();
    const scope = abortScope([undefined, parent.signal], 60_000);
    assert.equal(scope.signal.aborted, false);
    parent.abort(new Error('cancelled by request'));
    assert.equal(scope.signal.aborted, true);
    assert.equal((scope.signal.reason as Error).message, 'cancelled by request');
    assert.equal(scope.timedOut, false);
  });

  it('times out with a TimeoutError', async () => {
    const scope = abortScope([new AbortController().signal], 20);
    await new Promise((r) => scope.signal.addEventListener('abort', r, { once: true }));
    assert.equal(scope.timedOut, true);
    assert.equal((scope.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('starts aborted when a parent already is', () => {
    const parent = new AbortController();
    parent.abort('gone');
    const scope = abortScope([parent.signal], 60_000);
    assert.equal(scope.signal.aborted, true);
    assert.equal(scope.signal.reason, 'gone');
  });

  it('after dispose, neither the parent nor the timer can abort it', async () => {
    const parent = new AbortController();
    const scope = abortScope([parent.signal], 20);
    scope.dispose();
    parent.abort();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(scope.signal.aborted, false);
  });

  it('keeps nothing alive once disposed, where AbortSignal.any + AbortSignal.timeout keep kilobytes', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const parent = new AbortController();
    const n = 5_000; // the built-in pair keeps its timers until they fire: stay small
    const retainedPerCall = (make: () => void) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < n; i++) make();
      gc();
      return (process.memoryUsage().heapUsed - before) / n;
    };
    const scoped = retainedPerCall(() => abortScope([parent.signal], 1_800_000).dispose());
    const builtIn = retainedPerCall(() => AbortSignal.any([parent.signal, AbortSignal.timeout(1_800_000)]));
    assert.ok(scoped < 100, `abortScope: ${scoped.toFixed(0)} B retained per call`);
    assert.ok(
      builtIn > 10 * Math.max(scoped, 50),
      `the built-in pair retained ${builtIn.toFixed(0)} B per call (abortScope ${scoped.toFixed(0)} B)`,
    );
  });
});
