/**
 * Optional producer auth: when API_KEY is set, every route but the health probes needs
 * `x-api-key: <key>` or `Authorization: Bearer <key>` (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { errorBody } from './error-middleware';

const OPEN_PATHS = new Set(['/health', '/ready']);

export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function apiKeyAuth(apiKey: string | undefined, opts: { skip?: (ctx: Context) => boolean } = {}) {
  return async (ctx: Context, next: Next) => {
    if (!apiKey || OPEN_PATHS.has(ctx.path) || opts.skip?.(ctx)) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'))?.[1];
    const given = ctx.get('x-api-key') || bearer || '';
    if (!given || !safeEqual(given, apiKey)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = errorBody('unauthorized', 'missing or wrong API key: send x-api-key or Authorization: Bearer');
      return;
    }
    return next();
  };
}
