/** Credential helpers shared by the API key check and Bull Board's access rule. */
export { safeEqual } from '../shared/safe-equal';

/** Parses `Basic base64(user:pass)`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}
