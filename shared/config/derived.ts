/**
 * Values made from a loaded {@link Config}: the Ollama address and pool a worker uses, the local
 * model a conversation gets when it names none.
 */
import type { OllamaEndpoint } from '../ollama-pool-hosts';
import { SCHEMA } from './schema';
import type { Config } from './types';

/**
 * The Ollama address a worker uses: OLLAMA_HOST, or its documented default (the schema's) when
 * unset. `Config.ollamaHost` itself stays unset then, so the all-in-one stack can start the Ollama
 * emulator in its place.
 */
export function ollamaHostOf(config: Pick<Config, 'ollamaHost'>): string {
  return config.ollamaHost ?? SCHEMA.ollamaHost.default;
}

/**
 * The local model pool a worker uses: OLLAMA_HOSTS, or else a pool of one, OLLAMA_HOST (or its
 * default) with LOCAL_CONCURRENCY slots.
 */
export function ollamaPoolOf(config: Pick<Config, 'ollamaHost' | 'ollamaHosts' | 'localConcurrency'>): OllamaEndpoint[] {
  return config.ollamaHosts ?? [{ url: ollamaHostOf(config), slots: config.localConcurrency }];
}

/** The local model a conversation gets when it names none: OPENAI_MODEL under LOCAL=openai, else OLLAMA_MODEL. */
export function localModelOf(config: Pick<Config, 'localBackend' | 'openaiModel' | 'ollamaModel'>): string {
  return config.localBackend === 'openai' ? config.openaiModel : config.ollamaModel;
}
