/**
 * Optional producer auth: when API_KEY is set, every route but the health probes needs
 * `x-api-key: <key>` or `Authorization: Bearer <key>` (compared in constant time).
 *
 * Reads (GET, HEAD) also take HTTP Basic auth with the key as the password (any user name), and
 * their 401 offers a Basic challenge: a browser then asks once and sends the credentials itself,
 * so the conversation page, its live stream and the CSV link work without a proxy. Requests that
 * change something (POST, DELETE) never take Basic auth: credentials a browser keeps and sends
 * on its own must not be enough to start or cancel a conversation from another site's page.
 *
 * With API_KEYS_FILE, the key names a caller (producer/caller-keys.ts, docs/callers.md); the
 * middleware puts it in `ctx.state.caller` for the routes ({@link callerOf}). Without any key,
 * every request is the owner-less admin, as before callers.
 */
import type { Context, Next } from 'koa';
import { OWNERLESS_ADMIN, type Caller } from '../shared/caller';
import type { Config } from '../shared/config';
import { CallerKeys } from './caller-keys';
import { parseBasicAuth } from './credentials';
import { errorBody } from './error-middleware';

/** Whether the producer requires a key (API_KEY or API_KEYS_FILE): the start-up check uses it. */
export function hasAuthConfigured(config: Pick<Config, 'apiKey' | 'apiKeysFile'>): boolean {
  return Boolean(config.apiKey || config.apiKeysFile);
}

/** The request's caller, as the auth middleware found it (the owner-less admin when none ran). */
export function callerOf(ctx: Context): Caller {
  return (ctx.state.caller as Caller | undefined) ?? OWNERLESS_ADMIN;
}

const OPEN_PATHS = new Set(['/health', '/ready']);
const READS = new Set(['GET', 'HEAD']);
const REALM = 'llmconv';
const NOBODY: Caller = Object.freeze({ name: 'anonymous', admin: false });

export function apiKeyAuth(apiKey: string | undefined, opts: { skip?: (ctx: Context) => boolean; callers?: CallerKeys } = {}) {
  const callers = opts.callers ?? new CallerKeys(apiKey);
  return async (ctx: Context, next: Next) => {
    // Without any key everyone is the owner-less admin; a skipped path under a key sees nothing.
    ctx.state.caller = callers.required ? NOBODY : OWNERLESS_ADMIN;
    if (!callers.required || OPEN_PATHS.has(ctx.path) || opts.skip?.(ctx)) return next();
    const read = READS.has(ctx.method);
    const authorization = ctx.get('authorization');
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
    const basic = read ? parseBasicAuth(authorization)?.pass : undefined;
    const given = ctx.get('x-api-key') || bearer || basic || '';
    const caller = given ? callers.authenticate(given) : undefined;
    if (!caller) {
      ctx.status = 401;
      ctx.set(
        'WWW-Authenticate',
        read ? [`Basic realm="${REALM}", charset="UTF-8"`, `Bearer realm="${REALM}"`] : `Bearer realm="${REALM}"`,
      );
      ctx.body = errorBody(
        'unauthorized',
        read
          ? 'missing or wrong API key: send x-api-key, Authorization: Bearer, or (for reads, e.g. from a browser) Basic auth with the key as the password'
          : 'missing or wrong API key: send x-api-key or Authorization: Bearer',
      );
      return;
    }
    ctx.state.caller = caller;
    return next();
  };
}
