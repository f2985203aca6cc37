/**
 * Builds the two LLM providers a worker process uses from config: the cloud client (API Gateway →
 * Lambda → Bedrock) and the Ollama provider.
 */
import type { Config } from '../shared/config';
import type { LlmProvider } from '../shared/llm';
import { createCloudClient } from './cloud/cloud-client';
import { createOllamaProvider } from './local/ollama-provider';

/** Ollama's own default address, used by a worker host when OLLAMA_HOST is unset. */
export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';

/** The cloud provider of a worker: the API Gateway client with the configured auth and timeout. */
export function createCloudProvider(config: Config, url = config.apiGatewayUrl): LlmProvider {
  if (!url) throw new Error('API_GATEWAY_URL is not set and no local gateway was started');
  return createCloudClient({
    url,
    apiKey: config.apiGatewayApiKey,
    sigv4: config.apiGatewaySigv4 ? { region: config.awsRegion } : undefined,
    timeoutMs: config.apiGatewayTimeoutMs,
    defaultModel: config.bedrockModelId,
    envelope: config.apiGatewayEnvelope,
  });
}

/**
 * The Ollama provider of a worker: OLLAMA_HOST (already in URL form, see shared/ollama-host.ts) or
 * Ollama's own default address, with OLLAMA_KEEP_ALIVE and OLLAMA_NUM_CTX on every call.
 */
export function createLocalProvider(config: Config, host = config.ollamaHost ?? DEFAULT_OLLAMA_HOST): LlmProvider {
  return createOllamaProvider({
    host, defaultModel: config.ollamaModel, timeoutMs: config.ollamaTimeoutMs, keepAlive: config.ollamaKeepAlive, numCtx: config.ollamaNumCtx,
  });
}
