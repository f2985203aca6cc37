/**
 * One AbortSignal for one provider call: it aborts when any of the given signals does (with that
 * signal's reason) or when `timeoutMs` has passed (a `TimeoutError`, like `AbortSignal.timeout`),
 * and `dispose()` frees its timer and listeners as soon as the call is over.
 *
 * Not `AbortSignal.any([...signals, AbortSignal.timeout(ms)])`: that timer cannot be cancelled, so
 * every call kept its timer and signal bookkeeping alive until the timeout fired (BENCHMARKS.md has
 * the measurement); with the conversation deadline as a timeout, that is up to 30 minutes of every
 * step's garbage.
 *
 * @example
 * const scope = abortScope([cancelSignal, jobSignal], 30_000);
 * try { await fetch(url, { signal: scope.signal }); } finally { scope.dispose(); }
 */
export interface AbortScope {
  readonly signal: AbortSignal;
  /** True when the scope's own timeout fired (not a parent signal). */
  readonly timedOut: boolean;
  dispose(): void;
}

/** setTimeout's largest delay; longer ones would fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

export function abortScope(parents: readonly (AbortSignal | undefined)[], timeoutMs: number): AbortScope {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const dispose = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [parent, onAbort] of listeners) parent.removeEventListener('abort', onAbort);
    listeners.length = 0;
  };
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    listeners.push([parent, onAbort]);
  }
  if (!controller.signal.aborted) {
    timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      },
      Math.min(MAX_DELAY_MS, Math.max(1, timeoutMs)),
    );
    timer.unref();
  }
  // Once aborted, nothing else can change the outcome: let go of the parents at once.
  controller.signal.addEventListener('abort', dispose, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}

/** Waits `ms`, or less when `signal` aborts first (it then resolves: the caller checks the signal). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
