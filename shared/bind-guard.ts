/**
 * No open server on a network by accident: a process that serves something worth protecting (the
 * producer's API, the local API Gateway host, which calls Bedrock on the host's role) and binds
 * off loopback refuses to start without its key, unless the operator says
 * `ALLOW_UNAUTHENTICATED=true` (SECURITY.md, "Who may reach what").
 *
 * @example
 * refuseOpenBind({ what: 'producer', hostKey: 'HOST', host: config.host, keyName: 'API_KEY', keySet: Boolean(config.apiKey), allowUnauthenticated: config.allowUnauthenticated });
 */
import { ConfigError } from './errors';

/** True for an address or name that only this host can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m[1] === '127' && m.slice(2).every((o) => Number(o) <= 255);
}

export interface OpenBindCheck {
  /** What is starting, for the message: `producer`, `local API Gateway host`. */
  what: string;
  /** The setting that chose the interface (`HOST`). */
  hostKey: string;
  host: string;
  /** The setting that holds the key (`API_KEY`, `API_GATEWAY_API_KEY`). */
  keyName: string;
  keySet: boolean;
  allowUnauthenticated: boolean;
}

/** The one-line reason a start must be refused, or undefined when it may go on. */
export function openBindProblem(c: OpenBindCheck): string | undefined {
  if (c.keySet || c.allowUnauthenticated || isLoopbackHost(c.host)) return undefined;
  return `${c.what} refuses to start: ${c.hostKey}=${c.host} is reachable from other hosts and ${c.keyName} is not set; set ${c.keyName} (clients then send it as x-api-key), or set ALLOW_UNAUTHENTICATED=true to serve without a key on purpose`;
}

/** Throws a {@link ConfigError} naming the key when {@link openBindProblem} finds one. */
export function refuseOpenBind(c: OpenBindCheck): void {
  const problem = openBindProblem(c);
  if (problem) throw new ConfigError(problem, c.keyName);
}
