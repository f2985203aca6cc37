import assert from 'node:assert/strict';
import { loadConfig, ollamaPoolOf } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';
import { parseOllamaHosts } from '../../../shared/ollama-pool-hosts';

describe('OLLAMA_HOSTS (the local model pool)', () => {
  it('reads host*slots in every host form OLLAMA_HOST accepts, defaulting the slots', () => {
    assert.deepEqual(parseOllamaHosts('http://gpu1:11434*4, gpu2*2 ,:11500', 3), [
      { url: 'http://gpu1:11434', slots: 4 },
      { url: 'http://gpu2:11434', slots: 2 },
      { url: 'http://127.0.0.1:11500', slots: 3 },
    ]);
  });

  it('names the bad entry: slots that are not 1-1000, a bad host, a host listed twice', () => {
    assert.match(String(parseOllamaHosts('gpu1*0', 1)), /"gpu1\*0": the slots after \* must be an integer 1-1000/);
    assert.match(String(parseOllamaHosts('gpu1*x', 1)), /slots after \*/);
    assert.match(String(parseOllamaHosts('ftp://gpu1*2', 1)), /is not an Ollama host/);
    assert.match(String(parseOllamaHosts('gpu1*2,http://gpu1:11434*1', 1)), /listed twice/);
    assert.equal(parseOllamaHosts(' , ', 1), 'no host given');
  });

  it('loadConfig rejects a bad OLLAMA_HOSTS with a ConfigError naming the key', () => {
    assert.throws(
      () => loadConfig({ OLLAMA_HOSTS: 'gpu1*-1' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'OLLAMA_HOSTS' && /OLLAMA_HOSTS/.test(err.message),
    );
  });

  it('without OLLAMA_HOSTS the pool is OLLAMA_HOST with LOCAL_CONCURRENCY slots', () => {
    assert.deepEqual(ollamaPoolOf(loadConfig({ OLLAMA_HOST: 'gpu9', LOCAL_CONCURRENCY: '3' })), [{ url: 'http://gpu9:11434', slots: 3 }]);
    assert.deepEqual(ollamaPoolOf(loadConfig({})), [{ url: 'http://127.0.0.1:11434', slots: 1 }]);
    assert.deepEqual(ollamaPoolOf(loadConfig({ OLLAMA_HOST: 'gpu9', OLLAMA_HOSTS: 'a*2,b', LOCAL_CONCURRENCY: '5' })), [
      { url: 'http://a:11434', slots: 2 },
      { url: 'http://b:11434', slots: 5 },
    ]);
  });
});
