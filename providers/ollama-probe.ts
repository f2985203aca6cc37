/**
 * Questions to one Ollama server, through the `ollama` client, each bounded by `timeoutMs`:
 * - {@link probeOllama}: the pool's health probe (`GET /api/version` answers and the model is there);
 * - {@link ollamaVersion}: the server's version (`GET /api/version`), and {@link versionAtLeast} /
 *   {@link supportsTruncateFlag} to read what that version can do;
 * - {@link ollamaModelFacts}: what `POST /api/show` says of a model: its trained context length
 *   (`model_info["<arch>.context_length"]`), its family and capabilities (`"thinking"`), and whether
 *   its thinking takes only levels (gpt-oss);
 * - {@link ollamaRunningContext}: the context the loaded model runs with now (`GET /api/ps`
 *   `context_length`), undefined when it is not loaded.
 * Used by the Ollama provider (providers/ollama-provider.ts) to size `num_ctx` and pick the think
 * value, and meant for `llmconv doctor`'s checks as well.
 *
 * Sources (ollama/ollama, read 2026-12-02 at fb30760, 2026-08-21): `server/routes.go` `ShowHandler`
 * (`model_info["<family>.context_length"]`, `capabilities`), `PsHandler` (`context_length`, added in
 * v0.9.7, #11331), `server/images.go` `modelFamilyCapabilities` (family `gptoss`/`gpt-oss` always
 * has `thinking`), `docs/capabilities/thinking.mdx` ("GPT-OSS requires `think` to be set to
 * "low", "medium", or "high". Passing true/false is ignored for that model"), ollama/ollama#11751.
 */
import { Ollama } from 'ollama';
import { errorMessage } from '../shared/errors';

/** Options of the questions below. */
export interface OllamaAskOptions {
  /** Bound of each request, ms. Default 5000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

function client(host: string, opts: OllamaAskOptions = {}): Ollama {
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Ollama({ host, fetch: (input, init) => fetchImpl(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }) });
}

/** Resolves when Ollama at `host` answers and has `model`; throws an Error saying which check failed. */
export async function probeOllama(
  host: string,
  model: string,
  timeoutMs = 5000,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<void> {
  const c = client(host, { timeoutMs, fetch: fetchImpl });
  try {
    await c.version();
  } catch (err) {
    throw new Error(`Ollama at ${host} does not answer /api/version: ${errorMessage(err)}`);
  }
  try {
    await c.show({ model });
  } catch (err) {
    throw new Error(`Ollama at ${host} has no usable model "${model}": ${errorMessage(err)}`);
  }
}

/** The server's version string (`GET /api/version`), e.g. `0.12.6`. Throws when it does not answer. */
export async function ollamaVersion(host: string, opts?: OllamaAskOptions): Promise<string> {
  const res = await client(host, opts).version();
  return String(res.version ?? '');
}

/** The numeric part of a version (`0.12.6-rc1` → [0, 12, 6]); an unreadable one is []. */
function versionParts(v: string): number[] {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : [];
}

/** Whether `version` is at least `min` (numeric major.minor.patch; an unreadable version is not). */
export function versionAtLeast(version: string | undefined, min: string): boolean {
  const a = versionParts(version ?? '');
  const b = versionParts(min);
  if (a.length === 0) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return true;
}

/**
 * The first release whose chat and generate take `truncate` (ollama/ollama 6544e14, "add truncate
 * and shift parameters", first tagged v0.12.6, 2025-10). Older servers ignore the field (Go's JSON
 * decoder skips unknown keys) and always cut a prompt that is too long.
 */
export const TRUNCATE_FLAG_SINCE = '0.12.6';

/** Whether the server honours `truncate: false` (answers 400 instead of cutting the prompt). */
export function supportsTruncateFlag(version: string | undefined): boolean {
  return versionAtLeast(version, TRUNCATE_FLAG_SINCE);
}

/**
 * Ollama's default context when a request gives no `num_ctx`, before it is loaded: 2048 before
 * v0.6.7 (envconfig 44b466e raised it to 4096), 4096 since; from v0.15.5 (0334ffa) it depends on the
 * GPUs' VRAM (4096 under 23 GiB, 32768 from 23 GiB, 262144 from 47 GiB) unless OLLAMA_CONTEXT_LENGTH
 * is set. This is the smallest it can be for `version`, the only safe assumption from outside.
 */
export function smallestDefaultContext(version: string | undefined): number {
  return version !== undefined && versionParts(version).length > 0 && !versionAtLeast(version, '0.6.7') ? 2048 : 4096;
}

/** What `/api/show` says of a model. */
export interface OllamaModelFacts {
  /** `model_info["<arch>.context_length"]`: the context it was trained for (the largest num_ctx that helps). */
  contextLength?: number;
  /** `model_info["general.architecture"]` (else `details.family`), e.g. `llama`, `qwen3`, `gptoss`. */
  family?: string;
  capabilities: string[];
  /** The model can think (`capabilities` has `"thinking"`). */
  thinking: boolean;
  /**
   * Its thinking cannot be turned off, only set to a level (`think: "low" | "medium" | "high"`;
   * `true`/`false` are ignored): gpt-oss, family `gptoss`/`gpt-oss`.
   */
  thinkLevelsOnly: boolean;
}

/** Families whose thinking takes only levels (ollama/ollama `server/routes.go` `shouldUseHarmony`). */
export function thinkLevelsOnly(family: string | undefined): boolean {
  return family === 'gptoss' || family === 'gpt-oss';
}

/** The facts of `model` from `POST /api/show`; throws when the server does not answer or has no such model. */
export async function ollamaModelFacts(host: string, model: string, opts?: OllamaAskOptions): Promise<OllamaModelFacts> {
  const res = await client(host, opts).show({ model });
  // The client types model_info as a Map; on the wire it is a JSON object.
  const info = (res.model_info ?? {}) as unknown as Record<string, unknown>;
  const arch = typeof info['general.architecture'] === 'string' ? (info['general.architecture'] as string) : undefined;
  const family = arch ?? (res.details?.family || undefined);
  let contextLength: number | undefined;
  const direct = arch ? info[`${arch}.context_length`] : undefined;
  if (typeof direct === 'number' && direct > 0) contextLength = direct;
  else {
    // A renamed architecture still has exactly one "<x>.context_length" key.
    const key = Object.keys(info).find((k) => k.endsWith('.context_length') && typeof info[k] === 'number');
    if (key) contextLength = info[key] as number;
  }
  const capabilities = Array.isArray(res.capabilities) ? res.capabilities.map(String) : [];
  return {
    contextLength,
    family,
    capabilities,
    thinking: capabilities.includes('thinking'),
    thinkLevelsOnly: thinkLevelsOnly(family),
  };
}

/** Ollama treats `name` and `name:latest` as one model. */
function sameModel(a: string, b: string): boolean {
  const n = (s: string) => (s.includes(':') ? s : `${s}:latest`);
  return n(a) === n(b);
}

/** The context `model` runs with now (`GET /api/ps` `context_length`), undefined when it is not loaded (or the server predates the field). */
export async function ollamaRunningContext(host: string, model: string, opts?: OllamaAskOptions): Promise<number | undefined> {
  const res = await client(host, opts).ps();
  const m = (res.models ?? []).find((x) => sameModel(x.name ?? x.model ?? '', model) || sameModel(x.model ?? '', model));
  const ctx = (m as { context_length?: unknown } | undefined)?.context_length;
  return typeof ctx === 'number' && ctx > 0 ? ctx : undefined;
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
