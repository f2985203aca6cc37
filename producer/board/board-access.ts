/**
 * Who may open Bull Board: no unauthenticated access from anywhere but loopback
 * (docs/architecture.md, "Security").
 *
 *  - BOARD_USERNAME/BOARD_PASSWORD set: HTTP Basic auth with those, from any address; the board
 *    is read-write.
 *  - unset: loopback clients only (127.0.0.0/8, ::1, ::ffff:127.x), the board is read-only;
 *    every other address gets 401. When API_KEY is set too, loopback clients must also give the
 *    API key as the Basic-auth password (any user name): a reverse proxy on the same host makes
 *    every client look like loopback, and API_KEY promises that nothing is open.
 *
 * The address is the TCP peer (`socket.remoteAddress`), never `X-Forwarded-For`, which any client
 * can forge. The API key middleware does not apply to the board (it runs before it): a browser
 * cannot send `x-api-key`, and Basic auth needs the `Authorization` header the API key would claim.
 */
import { parseBasicAuth, safeEqual } from '../credentials';

export interface BoardAccessOptions {
  username?: string;
  password?: string;
  /** The producer's API_KEY, if any. */
  apiKey?: string;
  /** With API_KEYS_FILE: whether a key is an admin's (only admins see every caller's jobs; docs/callers.md). */
  isAdminKey?: (key: string) => boolean;
}

export interface BoardRequest {
  /** The TCP peer address (`ctx.socket.remoteAddress`). */
  remoteAddress?: string;
  /** The `Authorization` header, if any. */
  authorization?: string;
}

export type BoardDecision =
  | { allow: true; via: 'basic-auth' | 'loopback' }
  | { allow: false; reason: string /** Send `WWW-Authenticate: Basic` so a browser asks. */; challenge: boolean };

/** True for IPv4 127.0.0.0/8, IPv6 ::1 and IPv4-mapped loopback (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m[1] === '127' && m.slice(2).every((o) => Number(o) <= 255);
}

/** The access decision for one request; pure, so it is tested for every case. */
export function decideBoardAccess(opts: BoardAccessOptions, req: BoardRequest): BoardDecision {
  const basic = parseBasicAuth(req.authorization);
  if (opts.username !== undefined && opts.password !== undefined) {
    // Both compared every time (no short circuit), each in constant time.
    const userOk = basic ? safeEqual(basic.user, opts.username) : false;
    const passOk = basic ? safeEqual(basic.pass, opts.password) : false;
    if (userOk && passOk) return { allow: true, via: 'basic-auth' };
    return { allow: false, reason: basic ? 'wrong board user name or password' : 'board credentials required', challenge: true };
  }
  if (!isLoopbackAddress(req.remoteAddress)) {
    return {
      allow: false,
      // A browser on the Docker host reaches a container through the bridge, not loopback: say so.
      reason: `Bull Board is open to loopback clients only, and this request came from ${req.remoteAddress ?? 'an unknown address'} (another host, or the host of a container through Docker's published port). Set BOARD_USERNAME and BOARD_PASSWORD on the producer (for docker compose: in .env, see .env.example) and log in with them`,
      challenge: false,
    };
  }
  if (opts.isAdminKey) {
    if (basic && opts.isAdminKey(basic.pass)) return { allow: true, via: 'basic-auth' };
    return {
      allow: false,
      reason: 'API_KEYS_FILE is set: give an admin key (or API_KEY) as the Basic-auth password (any user name)',
      challenge: true,
    };
  }
  if (opts.apiKey !== undefined) {
    if (basic && safeEqual(basic.pass, opts.apiKey)) return { allow: true, via: 'basic-auth' };
    return { allow: false, reason: 'API_KEY is set: give it as the Basic-auth password (any user name)', challenge: true };
  }
  return { allow: true, via: 'loopback' };
}
