/**
 * `OLLAMA_HOST` read the way Ollama itself reads it (ollama/ollama `envconfig/config.go`,
 * `Host()`; ollama-js `formatHost` in `src/utils.ts` agrees): surrounding quotes and spaces are
 * trimmed; no scheme means `http` with port 11434; an explicit `http://` or `https://` without a
 * port means 80 or 443; a bare `:port` or an empty host means 127.0.0.1; a path is kept.
 *
 * @example
 * parseOllamaHost('127.0.0.1:11434')     // 'http://127.0.0.1:11434'
 * parseOllamaHost('gpu1')                // 'http://gpu1:11434'
 * parseOllamaHost('https://ollama.corp') // 'https://ollama.corp:443'
 * parseOllamaHost('ftp://x')             // undefined (not a scheme Ollama's client speaks)
 */
export function parseOllamaHost(value: string): string | undefined {
  const raw = value
    .trim()
    .replace(/^["']+|["']+$/g, '')
    .trim();
  let scheme = 'http';
  let defaultPort = '11434';
  let hostport = raw;
  const cut = raw.indexOf('://');
  if (cut >= 0) {
    scheme = raw.slice(0, cut).toLowerCase();
    hostport = raw.slice(cut + 3);
    if (scheme === 'http') defaultPort = '80';
    else if (scheme === 'https') defaultPort = '443';
    else return undefined;
  }
  hostport = hostport.replace(/\/+$/, '');
  const slash = hostport.indexOf('/');
  const pathPart = slash >= 0 ? hostport.slice(slash).replace(/\/+$/, '') : '';
  if (slash >= 0) hostport = hostport.slice(0, slash);

  let host: string;
  let port: string;
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(hostport);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2] || defaultPort;
  } else if ((hostport.match(/:/g) ?? []).length === 1) {
    const i = hostport.indexOf(':');
    host = hostport.slice(0, i);
    port = hostport.slice(i + 1) || defaultPort;
  } else {
    // No port, or a bare IPv6 address.
    host = hostport;
    port = defaultPort;
  }
  if (host === '') host = '127.0.0.1';
  if (!/^\d+$/.test(port) || Number(port) > 65535) return undefined;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  try {
    const url = new URL(`${scheme}://${hostPart}:${port}${pathPart}`);
    if (url.hostname === '') return undefined;
  } catch {
    return undefined;
  }
  return `${scheme}://${hostPart}:${port}${pathPart}`;
}
