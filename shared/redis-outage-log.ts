/**
 * Logs a Redis outage the way an operator wants to read it: one line when it starts, then at most
 * one line per `everyMs` with how many errors came meanwhile, and one line when Redis is back —
 * instead of one line (or a raw "[ioredis] Unhandled error event" trace) per failed reconnect.
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

/** A rate-limited outage logger for one process (or one part of it, `source`). */
export function createOutageLog(logger: Logger, source: string, everyMs = 10_000): OutageLog {
  let since: number | undefined;
  let errors = 0;
  let sinceLastLine = 0;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const error = (err: Error, context: Record<string, unknown> = {}) => {
    if (!isRedisConnectionError(err)) {
      logger.error({ source, ...context, err: err.message }, 'redis error');
      return;
    }
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
      emitter.on('error', (err: Error) => error(err));
      emitter.on('ready', () => recovered());
    },
    state: () => ({ down: since !== undefined, sinceMs: since === undefined ? undefined : Date.now() - since, lastError, errors }),
    close: stopTimer,
  };
}
