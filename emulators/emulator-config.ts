/**
 * Configuration of the emulator process (`npm run emulators`). Kept apart from `config.ts` so the
 * emulators need none of the pipeline's keys; like `config.ts`, it reads `process.env` only as the
 * default argument, trims every value and rejects a bad one with a {@link ConfigError} naming the key.
 *
 * @example
 * const cfg = loadEmulatorConfig();                                   // from process.env
 * const cfg = loadEmulatorConfig({ EMULATOR_FAULTS: '429:0.2,hang:0.05' }); // tests
 */
import type { Env, KeyDoc } from '../shared/config';
import { ConfigError } from '../shared/errors';

/** Kinds of fault an emulator can inject into a model call. */
export const FAULT_KINDS = ['status', 'hang', 'malformed', 'midstream-error', 'validation'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * One fault rule. On each model call the rules are tried in order and the first that fires wins.
 * - `status`: answer with `status` in the emulated service's error shape.
 * - `hang`: never answer; the socket stays open until the client gives up.
 * - `malformed`: answer 200 with a body that is not JSON.
 * - `midstream-error`: Ollama streams a couple of chunks then an `{"error": ...}` line; Bedrock
 *   sends a 200 with half a body and drops the connection.
 * - `validation`: a 400 validation error (Bedrock `ValidationException`).
 */
export interface FaultSpec {
  kind: FaultKind;
  /** HTTP status for `kind: 'status'` (100-599). */
  status?: number;
  /** Probability per call, 0..1. Default 1 (every call) when `count` is not given. */
  rate?: number;
  /** Apply to the next N matching calls, then drop the rule. Takes precedence over `rate`. */
  count?: number;
  /** Only calls for this model id match. Default: every model. */
  model?: string;
  /** Error message to answer with instead of the emulator's default. */
  message?: string;
  /** Bedrock only: the `x-amzn-errortype` to send (e.g. `ModelNotReadyException`). Default: by status. */
  errorType?: string;
}

/** The emulator process's typed configuration. */
export interface EmulatorConfig {
  host: string;
  bedrockPort: number;
  ollamaPort: number;
  /** The OpenAI-compatible emulator's port (LOCAL=openai). */
  openaiPort: number;
  latencyMs: number;
  faults: FaultSpec[];
  /** Bedrock emulator: latency per output token of an answer, in ms. */
  bedrockMsPerOutputToken: number;
  /** MODEL_CATALOG_FILE (the pipeline's key): the catalogue whose lifecycle the Bedrock emulator enforces. */
  modelCatalogFile?: string;
}

/** Every key {@link loadEmulatorConfig} reads, with its default. Mirrored in the README table. */
export const EMULATOR_CONFIG_KEYS: KeyDoc[] = [
  { key: 'EMULATOR_LATENCY_MS', default: '0', accepts: 'integer >= 0', description: 'Emulators: added latency per call.' },
  { key: 'EMULATOR_HOST', default: '127.0.0.1', accepts: 'interface address', description: 'Interface both emulators bind to.' },
  {
    key: 'BEDROCK_EMULATOR_PORT',
    default: '4010',
    accepts: 'integer 0-65535',
    description: 'Port of the Bedrock Runtime emulator (`POST /model/{id}/converse|invoke`).',
  },
  {
    key: 'OLLAMA_EMULATOR_PORT',
    default: '11435',
    accepts: 'integer 0-65535',
    description: 'Port of the Ollama emulator (`/api/chat`, `/api/generate`, `/api/tags`, ...).',
  },
  {
    key: 'OPENAI_EMULATOR_PORT',
    default: '8001',
    accepts: 'integer 0-65535',
    description:
      'Port of the OpenAI-compatible emulator (`/v1/chat/completions`, `/v1/models`; LOCAL=openai with OPENAI_BASE_URL=http://127.0.0.1:8001/v1). 8000 is left to a real vLLM.',
  },
  {
    key: 'BEDROCK_EMULATOR_MS_PER_TOKEN',
    default: '0',
    accepts: 'integer >= 0',
    description:
      "Bedrock emulator: latency per output token of an answer (e.g. 30, and a prompt with `[emulate:tokens=1000]`, outlasts API Gateway's 29 s).",
  },
  {
    key: 'EMULATOR_FAULTS',
    default: '(unset: no faults)',
    accepts: 'comma list of KIND:RATE, KIND = HTTP status (e.g. 429, 503) or hang, malformed, midstream-error, validation; RATE 0..1',
    description:
      'Emulators: faults injected at random per model call, e.g. `429:0.2,503:0.1,hang:0.05,malformed:0.05`. Change at run time with `POST /_emulator/faults`.',
  },
];

const DEFAULTS: Record<string, string> = Object.fromEntries(
  EMULATOR_CONFIG_KEYS.filter((k) => !k.default.startsWith('(')).map((k) => [k.key, k.default]),
);

function fail(key: string, value: string, why?: string): never {
  const accepts = EMULATOR_CONFIG_KEYS.find((k) => k.key === key)?.accepts ?? 'a valid value';
  throw new ConfigError(`${key}=${JSON.stringify(value)} is invalid: ${why ? `${why}; ` : ''}expected ${accepts}`, key);
}

function intKey(env: Env, key: string, min: number, max: number): number {
  const v = env[key]?.trim() || DEFAULTS[key]!;
  if (!/^\d+$/.test(v)) return fail(key, v);
  const n = Number(v);
  if (n < min || n > max) fail(key, v);
  return n;
}

/**
 * Parses an `EMULATOR_FAULTS` list such as `429:0.2,503:0.1,hang:0.05,malformed:0.05` (a missing
 * `:RATE` means 1). Throws {@link ConfigError} naming `key` and the bad entry.
 */
export function parseFaultList(text: string, key = 'EMULATOR_FAULTS'): FaultSpec[] {
  const specs: FaultSpec[] = [];
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', rateText, ...rest] = entry.split(':').map((s) => s.trim());
    if (rest.length > 0) fail(key, text, `entry "${entry}" has more than one ':'`);
    let rate = 1;
    if (rateText !== undefined) {
      rate = Number(rateText);
      if (rateText === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
        fail(key, text, `rate "${rateText}" in "${entry}" is not a number in 0..1`);
      }
    }
    if (/^\d+$/.test(name)) {
      const status = Number(name);
      if (status < 100 || status > 599) fail(key, text, `status ${name} in "${entry}" is not 100-599`);
      specs.push({ kind: 'status', status, rate });
    } else if ((FAULT_KINDS as readonly string[]).includes(name) && name !== 'status') {
      specs.push({ kind: name as FaultKind, rate });
    } else {
      fail(key, text, `unknown fault "${name}" in "${entry}"`);
    }
  }
  return specs;
}

/** EMULATOR_LATENCY_MS alone, for a process that starts emulators without their other keys (`npm start`). */
export function emulatorLatencyMs(env: Env = process.env): number {
  return intKey(env, 'EMULATOR_LATENCY_MS', 0, Number.MAX_SAFE_INTEGER);
}

/** Reads and validates the emulator keys. Throws {@link ConfigError} naming the first bad key. */
export function loadEmulatorConfig(env: Env = process.env): EmulatorConfig {
  const host = env.EMULATOR_HOST?.trim() || DEFAULTS.EMULATOR_HOST!;
  if (/\s/.test(host)) fail('EMULATOR_HOST', host);
  const faultsText = env.EMULATOR_FAULTS?.trim() ?? '';
  return {
    host,
    bedrockPort: intKey(env, 'BEDROCK_EMULATOR_PORT', 0, 65535),
    ollamaPort: intKey(env, 'OLLAMA_EMULATOR_PORT', 0, 65535),
    openaiPort: intKey(env, 'OPENAI_EMULATOR_PORT', 0, 65535),
    latencyMs: intKey(env, 'EMULATOR_LATENCY_MS', 0, Number.MAX_SAFE_INTEGER),
    faults: faultsText === '' ? [] : parseFaultList(faultsText),
    bedrockMsPerOutputToken: intKey(env, 'BEDROCK_EMULATOR_MS_PER_TOKEN', 0, 60_000),
    ...(env.MODEL_CATALOG_FILE?.trim() ? { modelCatalogFile: env.MODEL_CATALOG_FILE.trim() } : {}),
  };
}
