/**
 * The health probe of one Ollama endpoint of the pool: `GET /api/version` answers and the model is
 * there (`POST /api/show`), through the `ollama` client, each bounded by `timeoutMs`.
 */
import { Ollama } from 'ollama';
import { errorMessage } from '../shared/errors';

/** Resolves when Ollama at `host` answers and has `model`; throws an Error saying which check failed. */
export async function probeOllama(host: string, model: string, timeoutMs = 5000, fetchImpl: typeof fetch = globalThis.fetch): Promise<void> {
  const client = new Ollama({ host, fetch: (input, init) => fetchImpl(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }) });
  try {
    await client.version();
  } catch (err) {
    throw new Error(`Ollama at ${host} does not answer /api/version: ${errorMessage(err)}`);
  }
  try {
    await client.show({ model });
  } catch (err) {
    throw new Error(`Ollama at ${host} has no usable model "${model}": ${errorMessage(err)}`);
  }
}

/** Whether a URL points at this machine (its pool slots are then this machine's, not the fleet's). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\./.test(h) || h === '0.0.0.0';
  } catch {
    return false;
  }
}
