/**
 * First middleware of the app: maps every error to the JSON error body
 * `{ error: { code, message, details } }` with a fitting status, and emits `'error'` for logging
 * of server-side faults only. Redis being unreachable is a 503, never a 500 with a stack.
 */
import type { Context, Next } from 'koa';
import { PipelineError } from '../shared/errors';
import { isRedisConnectionError } from '../shared/redis-connection';

const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'throttled',
  502: 'upstream_error',
  503: 'unavailable',
  504: 'upstream_timeout',
};

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = errorBody('not_found', `no route for ${ctx.method} ${ctx.path}`);
    }
  } catch (err) {
    const e = err as Error & { status?: number; statusCode?: number; expose?: boolean; code?: string; details?: unknown; type?: string };
    let status: number;
    let code: string;
    let message: string;
    let details: unknown;
    if (isRedisConnectionError(err)) {
      status = 503;
      code = 'redis_unavailable';
      message = 'Redis is unreachable; the request was not accepted. Try again shortly.';
      ctx.set('Retry-After', '2');
    } else if (err instanceof PipelineError && err.status) {
      status = err.status;
      code = err.code;
      message = err.message;
      details = err.details;
      // A refusal that clears with time says when to come back.
      const retryAfter = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
      if (typeof retryAfter === 'number' && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(retryAfter));
    } else if ((e.status ?? e.statusCode) && (e.status ?? e.statusCode)! < 500) {
      status = (e.status ?? e.statusCode)!;
      code = CODES[status] ?? 'client_error';
      message = e.expose === false ? 'bad request' : e.message;
    } else {
      status = 500;
      code = 'internal_error';
      message = 'internal error';
      ctx.app.emit('error', err, ctx);
    }
    ctx.status = status;
    ctx.body = errorBody(code, message, details);
  }
}
