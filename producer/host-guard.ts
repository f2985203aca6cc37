/**
 * Which web pages may talk to the producer (SECURITY.md, "Browsers"):
 *
 *  - every request's `Host` must be a name the producer answers to (DNS rebinding: a page of
 *    `evil.example` whose name now resolves to 127.0.0.1 sends `Host: evil.example:8080`);
 *  - a write (POST, PUT, PATCH, DELETE) that carries an `Origin` must come from one of those
 *    names too, and one without `Origin` must not be marked cross-site by the browser
 *    (`Sec-Fetch-Site`). A `text/plain` or form upload needs no CORS preflight, so without this
 *    any page could start or cancel work on a producer on loopback.
 *
 * The names: `localhost`, `127.0.0.1`, `[::1]`, the bound HOST and the address the request came
 * in on, each at the port it came in on; plus ALLOWED_HOSTS (`name` any port, `name:port`, `*`
 * any). A client that is not a browser sends no `Origin` and no `Sec-Fetch-Site` and is not
 * affected. `/health` and `/ready` are left open: load balancers probe them by IP.
 *
 * @example
 * app.use(hostGuard({ allowedHosts: config.allowedHosts, host: config.host }));
 */
import type { Context, Middleware, Next } from 'koa';
import { errorBody } from './error-middleware';

const OPEN_PATHS = new Set(['/health', '/ready']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_NAMES_TEXT = 'localhost, 127.0.0.1, [::1] and the bound address, at this port';

export interface HostGuardOptions {
  /** ALLOWED_HOSTS entries (lower case). */
  allowedHosts: readonly string[];
  /** The bound HOST (a name or address; `0.0.0.0`/`::` add nothing). */
  host: string;
}

/** `name` (lower case, IPv6 in brackets) and port of a `Host` value or an origin; undefined when malformed. */
export function parseHostPort(value: string, defaultPort: number): { name: string; port: number } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]/\s]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), port: m[2] === undefined ? defaultPort : Number(m[2]) };
}

/** An address as it appears in a Host header: IPv4-mapped IPv6 unwrapped, IPv6 bracketed. */
function asHostName(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const a = address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return a.includes(':') ? `[${a}]` : a;
}

/** The allow-list check for one request; pure apart from reading the socket's local end. */
export function hostAllowed(
  opts: HostGuardOptions,
  target: { name: string; port: number },
  local: { address?: string; port?: number },
): boolean {
  for (const entry of opts.allowedHosts) {
    if (entry === '*') return true;
    const e = parseHostPort(entry, -1);
    if (e && e.name === target.name && (e.port === -1 || e.port === target.port)) return true;
  }
  if (target.port !== local.port) return false;
  const bound = opts.host === '0.0.0.0' || opts.host === '::' ? undefined : asHostName(opts.host);
  const names = [...LOOPBACK_NAMES, bound, asHostName(local.address)];
  return names.includes(target.name);
}

function refuse(ctx: Context, code: string, message: string): void {
  ctx.status = 403;
  ctx.body = errorBody(code, message);
}

export function hostGuard(opts: HostGuardOptions): Middleware {
  return async function hostGuardMiddleware(ctx: Context, next: Next) {
    if (OPEN_PATHS.has(ctx.path)) return next();
    const local = { address: ctx.req.socket.localAddress, port: ctx.req.socket.localPort };
    const hostHeader = ctx.get('host');
    // HTTP/1.0 clients may send none; a browser always does.
    if (hostHeader) {
      const target = parseHostPort(hostHeader, 80);
      if (!target || !hostAllowed(opts, target, local)) {
        refuse(
          ctx,
          'forbidden_host',
          `Host "${hostHeader.slice(0, 100)}" is not a name this producer answers to (DNS-rebinding protection): add it to ALLOWED_HOSTS if clients reach the producer by that name (default: ${DEFAULT_NAMES_TEXT})`,
        );
        return;
      }
    }
    if (!SAFE_METHODS.has(ctx.method)) {
      const origin = ctx.get('origin');
      if (origin) {
        let target: { name: string; port: number } | undefined;
        try {
          const u = new URL(origin);
          if (u.protocol === 'http:' || u.protocol === 'https:') target = parseHostPort(u.host, u.protocol === 'https:' ? 443 : 80);
        } catch {
          target = undefined;
        }
        if (!target || !hostAllowed(opts, target, local)) {
          refuse(
            ctx,
            'forbidden_origin',
            `cross-site ${ctx.method} refused: Origin "${origin.slice(0, 100)}" is not in ALLOWED_HOSTS (default: ${DEFAULT_NAMES_TEXT}); add the page's origin there if it may start and cancel work`,
          );
          return;
        }
      } else {
        const site = ctx.get('sec-fetch-site');
        if (site === 'cross-site' || site === 'same-site') {
          refuse(
            ctx,
            'forbidden_origin',
            `cross-site ${ctx.method} refused (Sec-Fetch-Site: ${site}, no Origin): only pages of ALLOWED_HOSTS may write (default: ${DEFAULT_NAMES_TEXT})`,
          );
          return;
        }
      }
    }
    return next();
  };
}
