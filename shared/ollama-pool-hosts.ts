/**
 * `OLLAMA_HOSTS`: the local model pool, a comma list of Ollama endpoints each with its number of
 * slots (`<host>*<slots>`; the slots are that host's `OLLAMA_NUM_PARALLEL`). Each host is read
 * the way `OLLAMA_HOST` is ({@link parseOllamaHost}: URL, host:port, host, :port).
 *
 * @example
 * parseOllamaHosts('http://gpu1:11434*4,gpu2*2', 1)
 * // [{ url: 'http://gpu1:11434', slots: 4 }, { url: 'http://gpu2:11434', slots: 2 }]
 * parseOllamaHosts('gpu1', 3)  // [{ url: 'http://gpu1:11434', slots: 3 }] (no `*n`: the default)
 */
import { parseOllamaHost } from './ollama-host';

/** One Ollama endpoint of the pool and how many calls it runs at once. */
export interface OllamaEndpoint {
  /** Normalised base URL, e.g. `http://gpu1:11434`. */
  url: string;
  /** Calls this host runs at once (its `OLLAMA_NUM_PARALLEL`), >= 1. */
  slots: number;
}

/**
 * Parses an `OLLAMA_HOSTS` value; an entry without `*n` gets `defaultSlots`. Returns a string
 * naming the first bad entry instead of throwing, so the config loader can put it in its ConfigError.
 */
export function parseOllamaHosts(value: string, defaultSlots: number): OllamaEndpoint[] | string {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return 'no host given';
  const out: OllamaEndpoint[] = [];
  for (const entry of entries) {
    const m = /^(.*?)\*\s*(\S+)$/.exec(entry);
    const hostPart = m ? m[1]! : entry;
    let slots = defaultSlots;
    if (m) {
      if (!/^\d+$/.test(m[2]!) || Number(m[2]) < 1 || Number(m[2]) > 1000) return `"${entry}": the slots after * must be an integer 1-1000`;
      slots = Number(m[2]);
    }
    const url = parseOllamaHost(hostPart);
    if (!url) return `"${entry}": "${hostPart.trim()}" is not an Ollama host (URL, host:port, host or :port)`;
    if (out.some((e) => e.url === url)) return `"${entry}": ${url} is listed twice`;
    out.push({ url, slots });
  }
  return out;
}
