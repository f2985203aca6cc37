/**
 * Optional producer auth: when API_KEY is set, every route but the health probes needs
 * `x-api-key: <key>` or `Authorization: Bearer <key>` (compared in constant time).
 *
 * Reads (GET, HEAD) also take HTTP Basic auth with the key as the password (any user name), and
 * their 401 offers a Basic challenge: a browser then asks once and sends the credentials itself,
 * so the conversation page, its live stream and the CSV link work without a proxy. Requests that
 * change something (POST, DELETE) never take Basic auth: credentials a browser keeps and sends
 * on its own must not be enough to start or cancel a conversation from another site's page.
 */
import type { Context, Next } from 'koa';
import { parseBasicAuth, safeEqual } from './credentials';
import { errorBody } from './error-middleware';

const OPEN_PATHS = new Set(['/health', '/ready']);
const READS = new Set(['GET', 'HEAD']);
const REALM = 'llmconv';

export function apiKeyAuth(apiKey: string | undefined, opts: { skip?: (ctx: Context) => boolean } = {}) {
  return async (ctx: Context, next: Next) => {
    if (!apiKey || OPEN_PATHS.has(ctx.path) || opts.skip?.(ctx)) return next();
    const read = READS.has(ctx.method);
    const authorization = ctx.get('authorization');
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
    const basic = read ? parseBasicAuth(authorization)?.pass : undefined;
    const given = ctx.get('x-api-key') || bearer || basic || '';
    if (!given || !safeEqual(given, apiKey)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', read ? [`Basic realm="${REALM}", charset="UTF-8"`, `Bearer realm="${REALM}"`] : `Bearer realm="${REALM}"`);
      ctx.body = errorBody('unauthorized', read
        ? 'missing or wrong API key: send x-api-key, Authorization: Bearer, or (for reads, e.g. from a browser) Basic auth with the key as the password'
        : 'missing or wrong API key: send x-api-key or Authorization: Bearer');
      return;
    }
    return next();
  };
}
