/**
 * A counted pool of long-lived requests one producer process holds at once: SSE streams (every
 * kind: conversation and run events share one pool, SSE_MAX_STREAMS) and waits (`?wait=true` and
 * `POST /api/v1/generate`, MAX_WAITS). Past the limit `take` throws a 503 with `Retry-After`
 * naming the setting; the slot is given back exactly once, by the release function or by the
 * response's `close`.
 *
 * @example
 * const streams = new LiveSlots({ max: 1000, setting: 'SSE_MAX_STREAMS', what: 'live streams', code: 'too_many_streams' });
 * const release = streams.take(ctx, 'run', 'poll GET /runs/r1 instead');
 * ctx.res.once('close', release);
 */
import type { Context } from 'koa';
import { PipelineError } from '../shared/errors';

export interface LiveSlotsOptions {
  /** Slots in the pool (the setting's value). */
  max: number;
  /** The config key that sets `max`, named in the 503. */
  setting: string;
  /** What a slot holds, for the message ("live streams", "waiting requests"). */
  what: string;
  /** The error code of the 503. */
  code: string;
  /** `Retry-After` in seconds. Default 5. */
  retryAfterSeconds?: number;
}

export class LiveSlots {
  private readonly byKind = new Map<string, number>();
  private total = 0;

  constructor(readonly opts: LiveSlotsOptions) {}

  /** Slots held now, in total. */
  get active(): number {
    return this.total;
  }

  /** Slots held now, by kind (`conversation`, `run`, `wait`, `generate`). */
  kinds(): ReadonlyMap<string, number> {
    return this.byKind;
  }

  /**
   * Takes a slot for `kind` or throws the 503 (with `Retry-After` set on `ctx`). Returns the
   * release function (idempotent); the slot is also released when the response closes.
   */
  take(ctx: Pick<Context, 'set' | 'res'>, kind: string, instead: string): () => void {
    const { max, setting, what, code } = this.opts;
    if (this.total >= max) {
      const retryAfter = this.opts.retryAfterSeconds ?? 5;
      ctx.set('Retry-After', String(retryAfter));
      throw new PipelineError(`this producer already holds ${max} ${what} (${setting}); retry in ${retryAfter} s, or ${instead}`, {
        code,
        status: 503,
        retryable: true,
        details: { max, setting, retryAfterSeconds: retryAfter },
      });
    }
    this.total++;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.total--;
      this.byKind.set(kind, this.byKind.get(kind)! - 1);
    };
    ctx.res.once('close', release);
    return release;
  }
}

/**
 * Calls `fn` once when the client goes away before the response was written out. It listens on
 * the response: on Node 20 the request's `close` has already fired once its body was read, so a
 * listener added there after `readJsonBody` never hears the hang-up.
 */
export function onClientGone(res: Context['res'], fn: () => void): () => void {
  const onClose = () => {
    if (!res.writableFinished) fn();
  };
  if (res.destroyed || res.closed) {
    queueMicrotask(onClose);
    return () => undefined;
  }
  res.once('close', onClose);
  return () => res.off('close', onClose);
}

const CLIENT_GONE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_WRITE_AFTER_END',
  'ECANCELED',
]);

/** True for the errors a client hanging up causes (a reset socket, a write after the close): normal, not a fault. */
export function isClientGone(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code && CLIENT_GONE_CODES.has(e.code)) return true;
  return e.message === 'aborted' || e.message === 'socket hang up' || e.message === 'Premature close';
}
