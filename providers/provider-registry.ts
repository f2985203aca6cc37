/**
 * The provider registry: which backend answers each side is configuration, not the side.
 * `CLOUD` names the cloud side's backend and `LOCAL` the local side's (shared/config.ts checks the
 * names: a bad value is a ConfigError naming the key and the accepted values); each name maps to
 * one factory here. What wraps a backend stays where it was: the cloud limiter and fallbacks
 * (`createLimitedCloudProvider`, `createFallbackCloudProvider`, in workers/start-workers.ts) wrap
 * whatever cloud backend this returns, and the local pool (slot leases, breaker, health probes:
 * providers/ollama-pool.ts) runs over whatever local backend this returns.
 *
 * | CLOUD      | backend |
 * |------------|---------|
 * | `gateway`  | API Gateway → Lambda → Bedrock (API_GATEWAY_URL; `npm start` puts its in-process gateway there) |
 * | `bedrock`  | Bedrock Converse from the worker (providers/bedrock-direct-provider.ts over bedrock/bedrock-client.ts) |
 * | `emulated` | the gateway path to the Bedrock emulator: `npm start` starts the emulator and the in-process gateway and passes their URL; a worker on its own expects API_GATEWAY_URL (e.g. `npm run gateway` with BEDROCK_ENDPOINT at `npm run emulators`) |
 *
 * | LOCAL      | backend |
 * |------------|---------|
 * | `ollama`   | Ollama's API (OLLAMA_HOSTS or OLLAMA_HOST), pooled |
 * | `openai`   | an OpenAI-compatible chat completions server at OPENAI_BASE_URL (providers/openai-provider.ts), a pool of one endpoint with LOCAL_CONCURRENCY slots |
 * | `emulated` | the Ollama provider at the Ollama emulator: `npm start` starts it and passes its URL; a worker on its own expects OLLAMA_HOST (`npm run emulators`) |
 *
 * Where to add a backend: a value in CLOUD_BACKENDS / LOCAL_BACKENDS (shared/config.ts, with its
 * CONFIG_KEYS row), a factory below, the README's "Backends" section.
 *
 * @example
 * const cloud = createCloudBackend(config);              // CLOUD
 * const local = createLocalBackend(config, leases, log); // LOCAL, pooled
 */
import { createBedrockConverse } from '../bedrock/bedrock-client';
import { type CloudBackend, type Config, type LocalBackend, localModelOf } from '../shared/config';
import { ConfigError, errorMessage } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { loadModelCatalog } from '../shared/model-catalog';
import { createBedrockDirectProvider } from './bedrock-direct-provider';
import { createGatewayBackend, createLocalPool, ollamaPoolBackend, type LocalPoolBackend } from './create-providers';
import type { LlmProvider } from './llm-provider';
import type { OllamaPool, SlotSemaphore } from './ollama-pool';
import { createOpenAiProvider } from './openai-provider';
import { tracedProvider } from './traced-provider';

/** The direct Bedrock backend from config: the Lambda's keys (AWS_REGION, BEDROCK_ENDPOINT, BEDROCK_MODEL_ID, DEFAULT_MAX_TOKENS, MODEL_CATALOG_FILE), read by the worker. */
export function createBedrockBackend(config: Config): LlmProvider {
  return createBedrockDirectProvider({
    converse: createBedrockConverse({
      region: config.awsRegion,
      // Unset: the SDK reads AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL itself, as in the Lambda.
      endpoint: config.bedrockEndpoint,
      defaultModelId: config.bedrockModelId,
      defaultMaxTokens: config.defaultMaxTokens,
      catalog: loadModelCatalog(config.modelCatalogFile),
      // The SDK's own request timeout backs up the call's signal.
      requestTimeoutMs: config.bedrockTimeoutMs + 1000,
    }),
    timeoutMs: config.bedrockTimeoutMs,
  });
}

/** One factory per CLOUD value. */
export const CLOUD_REGISTRY: Record<CloudBackend, (config: Config) => LlmProvider> = {
  gateway: (config) => createGatewayBackend(config),
  bedrock: createBedrockBackend,
  // The stack points API_GATEWAY_URL at its in-process gateway in front of the Bedrock emulator.
  emulated: (config) => createGatewayBackend(config),
};

/** The OpenAI-compatible pool backend: one endpoint, OPENAI_BASE_URL, with LOCAL_CONCURRENCY slots; `GET /models` listing the model as the probe. */
export function openAiPoolBackend(config: Config): LocalPoolBackend {
  const baseURL = config.openaiBaseUrl;
  if (!baseURL) {
    throw new ConfigError(
      'OPENAI_BASE_URL must be set for LOCAL=openai (the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama); `npm start` starts the OpenAI emulator when it is unset',
      'OPENAI_BASE_URL',
    );
  }
  const provider = (url: string) =>
    createOpenAiProvider({
      baseURL: url,
      apiKey: config.openaiApiKey,
      defaultModel: config.openaiModel,
      timeoutMs: config.openaiTimeoutMs,
    });
  return {
    endpoints: [{ url: baseURL, slots: config.localConcurrency }],
    provider,
    probe: (url) => probeOpenAi(url, config.openaiModel, config.openaiApiKey),
  };
}

/** One pool backend per LOCAL value. */
export const LOCAL_REGISTRY: Record<LocalBackend, (config: Config) => LocalPoolBackend> = {
  ollama: ollamaPoolBackend,
  openai: openAiPoolBackend,
  // The stack points OLLAMA_HOST at the Ollama emulator it started.
  emulated: ollamaPoolBackend,
};

/** The cloud side's backend named by CLOUD (unwrapped: the worker adds its limiter and fallbacks). */
export function createCloudBackend(config: Config): LlmProvider {
  // Each call a GenAI span (a pass-through while tracing is off); the limiter and fallbacks wrap this, so each model tried is one span.
  return tracedProvider(CLOUD_REGISTRY[config.cloudBackend](config), {
    provider: 'aws.bedrock',
    defaultModel: config.bedrockModelId,
    serverUrl: config.cloudBackend === 'bedrock' ? config.bedrockEndpoint : config.apiGatewayUrl,
  });
}

/** The local side's backend named by LOCAL, as a pool (fleet-wide slot leases from `leases`, breaker, health probes). */
export function createLocalBackend(config: Config, leases: SlotSemaphore, logger?: Logger): OllamaPool {
  const backend = LOCAL_REGISTRY[config.localBackend](config);
  const providerName = config.localBackend === 'openai' ? 'openai' : 'ollama';
  return createLocalPool(config, leases, logger, {
    ...backend,
    // Each endpoint's calls as GenAI spans naming the endpoint (a pass-through while tracing is off).
    provider: (url) =>
      tracedProvider(backend.provider(url), { provider: providerName, defaultModel: localModelOf(config), serverUrl: url }),
  });
}

/**
 * Health probe of an OpenAI-compatible endpoint: `GET <base>/models` answers and lists `model`.
 * A server that lists nothing (some proxies) passes: only the call can tell.
 */
export async function probeOpenAi(baseURL: string, model: string, apiKey?: string, timeoutMs = 5000): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${baseURL}/models`, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`the OpenAI-compatible server at ${baseURL} does not answer GET /models: ${errorMessage(err)}`);
  }
  if (!res.ok) throw new Error(`the OpenAI-compatible server at ${baseURL} answered GET /models with ${res.status}`);
  const body = (await res.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined;
  const ids = (body?.data ?? []).map((m) => m?.id).filter((id): id is string => typeof id === 'string');
  if (ids.length > 0 && !ids.includes(model))
    throw new Error(`the OpenAI-compatible server at ${baseURL} has no model "${model}" (it lists ${ids.slice(0, 10).join(', ')})`);
}
