/**
 * Builds the two LLM providers a worker process uses from config: the cloud client (API Gateway →
 * Lambda → Bedrock) and the Ollama provider.
 */
import type { Config } from '../shared/config';
import type { LlmProvider } from './llm-provider';
import { createCloudClient } from './api-gateway-client';
import { createOllamaProvider } from './ollama-provider';

/** Ollama's own default address, used by a worker host when OLLAMA_HOST is unset. */
export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';

export function createCloudProvider(config: Config, url = config.apiGatewayUrl): LlmProvider {
  if (!url) throw new Error('API_GATEWAY_URL is not set and no local gateway was started');
  return createCloudClient({
    url,
    apiKey: config.apiGatewayApiKey,
    sigv4: config.apiGatewaySigv4 ? { region: config.awsRegion } : undefined,
    timeoutMs: config.apiGatewayTimeoutMs,
    defaultModel: config.bedrockModelId,
  });
}

export function createLocalProvider(config: Config, host = config.ollamaHost ?? DEFAULT_OLLAMA_HOST): LlmProvider {
  return createOllamaProvider({ host, defaultModel: config.ollamaModel, timeoutMs: config.ollamaTimeoutMs });
}
