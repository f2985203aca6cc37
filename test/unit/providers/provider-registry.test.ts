/** The provider registry's config: CLOUD and LOCAL, their defaults, their errors (providers/provider-registry.ts, shared/config/schema.ts). */
import assert from 'node:assert/strict';
import { loadConfig, localModelOf } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';
import { createCloudBackend, createLocalBackend, CLOUD_REGISTRY, LOCAL_REGISTRY } from '../../../providers/provider-registry';
import type { SlotSemaphore } from '../../../providers/ollama-pool';

const noLeases: SlotSemaphore = {
  acquire: async () => 0,
  renew: async () => true,
  release: async () => undefined,
  waitForRelease: async () => undefined,
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('provider registry: backends chosen by CLOUD and LOCAL', () => {
  it("defaults keep today's backends: CLOUD=gateway, LOCAL=ollama", () => {
    const config = loadConfig({});
    assert.equal(config.cloudBackend, 'gateway');
    assert.equal(config.localBackend, 'ollama');
    assert.equal(localModelOf(config), config.ollamaModel);
  });

  it('every accepted value has a factory', () => {
    assert.deepEqual(Object.keys(CLOUD_REGISTRY).sort(), ['bedrock', 'emulated', 'gateway']);
    assert.deepEqual(Object.keys(LOCAL_REGISTRY).sort(), ['emulated', 'ollama', 'openai']);
  });

  it('a bad CLOUD or LOCAL is a ConfigError naming the key and the accepted values', () => {
    const cloud = configError(() => loadConfig({ CLOUD: 'lambda' }));
    assert.equal(cloud.key, 'CLOUD');
    assert.match(cloud.message, /CLOUD="lambda" is invalid: expected gateway, bedrock or emulated/);
    const local = configError(() => loadConfig({ LOCAL: 'vllm' }));
    assert.equal(local.key, 'LOCAL');
    assert.match(local.message, /LOCAL="vllm" is invalid: expected ollama, openai or emulated/);
    assert.equal(loadConfig({ CLOUD: 'Bedrock', LOCAL: ' OpenAI ' }).cloudBackend, 'bedrock');
  });

  it('LOCAL=openai reads OPENAI_MODEL (else OLLAMA_MODEL) and OPENAI_TIMEOUT_MS (else OLLAMA_TIMEOUT_MS)', () => {
    const fallback = loadConfig({ LOCAL: 'openai', OLLAMA_MODEL: 'llama3.1', OLLAMA_TIMEOUT_MS: '9000' });
    assert.equal(fallback.openaiModel, 'llama3.1');
    assert.equal(fallback.openaiTimeoutMs, 9000);
    const own = loadConfig({
      LOCAL: 'openai',
      OPENAI_MODEL: 'Qwen/Qwen3-8B',
      OPENAI_TIMEOUT_MS: '4000',
      OPENAI_BASE_URL: 'http://gpu1:8000/v1/',
    });
    assert.equal(localModelOf(own), 'Qwen/Qwen3-8B');
    assert.equal(own.openaiTimeoutMs, 4000);
    assert.equal(own.openaiBaseUrl, 'http://gpu1:8000/v1');
    assert.equal(configError(() => loadConfig({ OPENAI_BASE_URL: 'gpu1:8000' })).key, 'OPENAI_BASE_URL');
  });

  it('LOCAL=openai without OPENAI_BASE_URL: a ConfigError naming it; with it, a pool of one endpoint with LOCAL_CONCURRENCY slots', () => {
    const err = configError(() => createLocalBackend(loadConfig({ LOCAL: 'openai' }), noLeases));
    assert.equal(err.key, 'OPENAI_BASE_URL');
    const pool = createLocalBackend(
      loadConfig({ LOCAL: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', LOCAL_CONCURRENCY: '3' }),
      noLeases,
    );
    try {
      assert.deepEqual(
        pool.endpoints().map((e) => [e.url, e.slots]),
        [['http://127.0.0.1:9/v1', 3]],
      );
    } finally {
      pool.close();
    }
  });

  it('CLOUD=bedrock needs no API_GATEWAY_URL; CLOUD=gateway still does (ConfigError naming it)', () => {
    assert.equal(typeof createCloudBackend(loadConfig({ CLOUD: 'bedrock' })).generate, 'function');
    assert.equal(configError(() => createCloudBackend(loadConfig({}))).key, 'API_GATEWAY_URL');
  });

  it("BEDROCK_TIMEOUT_MS defaults to the cloud worker's API_GATEWAY_TIMEOUT_MS", () => {
    assert.equal(loadConfig({ GATEWAY_TIMEOUT_MS: '10000' }).bedrockTimeoutMs, 11000);
    assert.equal(loadConfig({ BEDROCK_TIMEOUT_MS: '60000' }).bedrockTimeoutMs, 60000);
  });
});
