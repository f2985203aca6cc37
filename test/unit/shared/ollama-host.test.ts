import assert from 'node:assert/strict';
import { parseOllamaHost } from '../../../shared/ollama-host';
import { loadConfig } from '../../../shared/config';

// Forms and defaults as Ollama reads OLLAMA_HOST: ollama/ollama envconfig/config.go (getOllamaHost / Host()).
describe('OLLAMA_HOST in the forms Ollama accepts', () => {
  const cases: Array<[string, string | undefined]> = [
    ['127.0.0.1:11434', 'http://127.0.0.1:11434'],
    ['gpu1', 'http://gpu1:11434'],
    [':11500', 'http://127.0.0.1:11500'],
    ['0.0.0.0', 'http://0.0.0.0:11434'],
    ['"localhost:8080"', 'http://localhost:8080'],
    ['http://10.0.0.5', 'http://10.0.0.5:80'],
    ['https://ollama.example.com', 'https://ollama.example.com:443'],
    ['http://127.0.0.1:11434/', 'http://127.0.0.1:11434'],
    ['https://proxy.example.com:8443/ollama/', 'https://proxy.example.com:8443/ollama'],
    ['[::1]:11434', 'http://[::1]:11434'],
    ['::1', 'http://[::1]:11434'],
    ['ftp://x', undefined],
    ['host:99999', undefined],
    ['host:abc', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected ?? 'rejected'}`, () => {
      assert.equal(parseOllamaHost(input), expected);
    });
  }

  it('the config accepts the scheme-less form our systemd drop-in uses and rejects nonsense naming the key', () => {
    assert.equal(loadConfig({ OLLAMA_HOST: '127.0.0.1:11434' }).ollamaHost, 'http://127.0.0.1:11434');
    assert.throws(() => loadConfig({ OLLAMA_HOST: 'ftp://x' }), /OLLAMA_HOST/);
  });
});
