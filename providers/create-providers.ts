/**
 * Backends built from config (the registry, providers/provider-registry.ts, picks among them):
 * the gateway backend (CLOUD=gateway: the API Gateway client → Lambda → Bedrock), the Ollama
 * backend (LOCAL=ollama: the Ollama provider of one host) and the local pool over a pool backend.
 */
import os from 'node:os';
import { ollamaHostOf, ollamaPoolOf, type Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { ConfigError } from '../shared/errors';
import type { LlmProvider } from './llm-provider';
import { createApiGatewayClient } from './api-gateway-client';
import { createOllamaProvider } from './ollama-provider';
import { createOllamaPool, type OllamaPool, type SlotSemaphore } from './ollama-pool';
import { isLoopbackUrl, probeOllama } from './ollama-probe';
import type { Side } from '../conversation/model';
import type { OllamaEndpoint } from '../shared/ollama-pool-hosts';

/** The gateway backend: the API Gateway client to API_GATEWAY_URL (or `url`); a ConfigError naming the key when there is none. */
export function createGatewayBackend(config: Config, url = config.apiGatewayUrl): LlmProvider {
  if (!url) {
    throw new ConfigError(
      'API_GATEWAY_URL must be set to reach the cloud model (the deployed API Gateway, or `npm run gateway`); ' +
        '`npm start` runs the whole pipeline with an in-process gateway',
      'API_GATEWAY_URL',
    );
  }
  return createApiGatewayClient({
    url,
    apiKey: config.apiGatewayApiKey,
    sigv4: config.apiGatewaySigv4 ? { region: config.awsRegion } : undefined,
    timeoutMs: config.apiGatewayTimeoutMs,
    defaultModel: config.bedrockModelId,
    envelope: config.apiGatewayEnvelope,
  });
}

/**
 * The Ollama backend: the Ollama provider at OLLAMA_HOST (or `host`; any form Ollama accepts, see shared/ollama-host.ts),
 * with OLLAMA_KEEP_ALIVE and OLLAMA_NUM_CTX on every call.
 */
export function createOllamaBackend(config: Config, host = ollamaHostOf(config)): LlmProvider {
  return createOllamaProvider({
    host,
    defaultModel: config.ollamaModel,
    timeoutMs: config.ollamaTimeoutMs,
    keepAlive: config.ollamaKeepAlive,
    numCtx: config.ollamaNumCtx,
  });
}

/** What a local pool runs on: its endpoints, the provider of one, and the health probe of one (providers/provider-registry.ts). */
export interface LocalPoolBackend {
  endpoints: OllamaEndpoint[];
  provider: (url: string) => LlmProvider;
  probe: (url: string) => Promise<void>;
}

/** The Ollama pool backend: OLLAMA_HOSTS (or OLLAMA_HOST), the Ollama provider, `/api/version` and `/api/show` as the probe. */
export function ollamaPoolBackend(config: Config): LocalPoolBackend {
  return {
    endpoints: ollamaPoolOf(config),
    provider: (url) => createOllamaBackend(config, url),
    probe: (url) => probeOllama(url, config.ollamaModel),
  };
}

/** The semaphore id of a pool endpoint: its URL, prefixed with this machine's name when the URL is loopback. */
export function poolEndpointId(url: string): string {
  return isLoopbackUrl(url) ? `${os.hostname()}/${url}` : url;
}

/**
 * The local model pool from config: OLLAMA_HOSTS (or OLLAMA_HOST with LOCAL_CONCURRENCY slots),
 * slots taken from `leases`, leases of OLLAMA_SLOT_LEASE_MS, breaker from OLLAMA_BREAKER_*.
 * A loopback endpoint's slots are this machine's (its semaphore id carries the host name), so
 * co-located workers that each say `127.0.0.1` never share one count. Without OLLAMA_HOSTS the
 * slots are this process's own, as LOCAL_CONCURRENCY always was (existing deployments keep their
 * concurrency); list a host in OLLAMA_HOSTS to share its slots across the fleet.
 */
export function createLocalPool(
  config: Config,
  leases: SlotSemaphore,
  logger?: Logger,
  backend: LocalPoolBackend = ollamaPoolBackend(config),
): OllamaPool {
  return createOllamaPool({
    endpoints: backend.endpoints,
    leases,
    provider: backend.provider,
    probe: backend.probe,
    leaseMs: config.ollamaSlotLeaseMs,
    breakerFailures: config.ollamaBreakerFailures,
    breakerCooldownMs: config.ollamaBreakerCooldownMs,
    idOf: config.ollamaHosts ? poolEndpointId : (url) => `${os.hostname()}/${process.pid}/${url}`,
    logger,
  });
}

/** A stand-in for a side this process does not run: a call is a bug, and says so. */
export function unconfiguredProvider(side: Side): LlmProvider {
  return {
    generate: () => Promise.reject(new Error(`this process does not run the ${side} role, so it has no ${side} provider`)),
  };
}
