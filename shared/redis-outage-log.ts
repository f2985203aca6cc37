/**
 * Logs a Redis outage the way an operator wants to read it: one line when it starts, then at most
 * one line per `everyMs` with how many errors came meanwhile, and one line when Redis is back —
 * instead of one line (or a raw "[ioredis] Unhandled error event" trace) per failed reconnect.
 * Any other repeated error (a script's, a MOVED loop's) is bounded the same way: its first line,
 * then one line per `everyMs` with its count. With the Cluster client, whose status stays `ready`
 * through a failover, a whole interval without an error ends the outage.
 * Attach it to every ioredis connection and BullMQ Queue/Worker of a process: each needs an
 * 'error' listener anyway, or Node prints the error (ioredis) or throws it (EventEmitter).
 *
 * @example
 * const outage = createOutageLog(logger, 'workers');
 * outage.watch(conn);                         // ioredis: 'error' and 'ready'
 * worker.on('error', (err) => outage.error(err, { role: 'cloud' }));
 */
import type { Logger } from './logger';
import { isRedisConnectionError } from './redis-connection';

export interface OutageLog {
  /** Counts a connection error (rate-limited line), or logs any other error at once. */
  error(err: Error, context?: Record<string, unknown>): void;
  /** Redis answered again: logs the end of the outage (once). */
  recovered(): void;
  /** Listens to a connection's (or BullMQ object's) 'error', and 'ready' when it has one. */
  watch(emitter: { on(event: string, fn: (...args: never[]) => void): unknown }): void;
  /** Whether an outage is in progress, since when and with what last error (for /ready). */
  state(): { down: boolean; sinceMs?: number; lastError?: string; errors: number };
  /** Stops the periodic line. */
  close(): void;
}

/** An error's kind for the rate limit: its message without the numbers (slots, addresses, ids). */
const kindOf = (message: string) => message.replace(/\d+/g, '#').slice(0, 120);

/** A rate-limited outage logger for one process (or one part of it, `source`). */
export function createOutageLog(logger: Logger, source: string, everyMs = 10_000): OutageLog {
  let since: number | undefined;
  let errors = 0;
  let sinceLastLine = 0;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const watched: Array<{ status?: string }> = [];
  // Other errors (a script's, a refused command's): the first of a kind at once, then a count per interval.
  const others = new Map<string, { count: number; last: string; context: Record<string, unknown> }>();
  let othersTimer: NodeJS.Timeout | undefined;

  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const flushOthers = () => {
    for (const [kind, o] of others) {
      if (o.count === 0) {
        others.delete(kind);
        continue;
      }
      logger.error(
        { source, ...o.context, err: o.last, repeated: o.count },
        `redis error repeated ${o.count} times in ${Math.round(everyMs / 1000)} s (${source})`,
      );
      o.count = 0;
    }
    if (others.size === 0 && othersTimer) {
      clearInterval(othersTimer);
      othersTimer = undefined;
    }
  };
  const other = (err: Error, context: Record<string, unknown>) => {
    const kind = kindOf(err.message);
    const seen = others.get(kind);
    if (seen) {
      seen.count += 1;
      seen.last = err.message;
      return;
    }
    others.set(kind, { count: 0, last: err.message, context });
    logger.error({ source, ...context, err: err.message }, 'redis error');
    if (!othersTimer) {
      othersTimer = setInterval(flushOthers, everyMs);
      othersTimer.unref();
    }
  };
  // Every watched connection answers (the Cluster client stays `ready` through a failover).
  const allReady = () => watched.every((w) => w.status === undefined || w.status === 'ready');
  const error = (err: Error, context: Record<string, unknown> = {}) => {
    if (!isRedisConnectionError(err)) return other(err, context);
    errors += 1;
    sinceLastLine += 1;
    lastError = err.message;
    if (since !== undefined) return;
    since = Date.now();
    sinceLastLine = 0;
    logger.error(
      { source, ...context, err: err.message },
      `Redis unreachable (${source}); retrying, next report in ${Math.round(everyMs / 1000)} s`,
    );
    timer = setInterval(() => {
      if (since === undefined) return stopTimer();
      // No error for a whole interval and every connection ready: the outage is over, though no
      // 'ready' came (the Cluster client's way: it follows the promoted replica without reconnecting).
      if (sinceLastLine === 0 && allReady()) return recovered();
      logger.warn(
        { source, downMs: Date.now() - since, errors: sinceLastLine, lastError },
        `Redis still unreachable (${source}) after ${Math.round((Date.now() - since) / 1000)} s; ${sinceLastLine} errors since the last report`,
      );
      sinceLastLine = 0;
    }, everyMs);
    timer.unref();
  };
  const recovered = () => {
    if (since === undefined) return;
    logger.warn({ source, downMs: Date.now() - since, errors }, `Redis reachable again (${source}) after ${Date.now() - since} ms`);
    since = undefined;
    errors = 0;
    stopTimer();
  };
  return {
    error,
    recovered,
    watch(emitter) {
      watched.push(emitter as { status?: string });
      emitter.on('error', (err: Error) => error(err));
      // The Cluster client reports a node's errors apart (`node error`, with the node's address).
      emitter.on('node error', (err: Error, address?: string) => error(err, address ? { node: address } : {}));
      emitter.on('ready', () => recovered());
    },
    state: () => ({ down: since !== undefined, sinceMs: since === undefined ? undefined : Date.now() - since, lastError, errors }),
    close: () => {
      stopTimer();
      flushOthers();
      if (othersTimer) clearInterval(othersTimer);
      othersTimer = undefined;
    },
  };
}
