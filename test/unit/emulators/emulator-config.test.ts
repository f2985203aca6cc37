import assert from 'node:assert/strict';
import { ConfigError } from '../../../shared/errors';
import { EMULATOR_CONFIG_KEYS, loadEmulatorConfig, parseFaultList } from '../../../emulators/emulator-config';

describe('loadEmulatorConfig', () => {
  it('defaults: 127.0.0.1, Bedrock 4010, Ollama 11435, no latency, no faults', () => {
    assert.deepEqual(loadEmulatorConfig({}), {
      host: '127.0.0.1',
      bedrockPort: 4010,
      ollamaPort: 11435,
      openaiPort: 8001,
      latencyMs: 0,
      faults: [],
      bedrockMsPerOutputToken: 0,
    });
  });

  it('reads every key, trimmed', () => {
    const cfg = loadEmulatorConfig({
      EMULATOR_HOST: ' 0.0.0.0 ',
      BEDROCK_EMULATOR_PORT: '0',
      OLLAMA_EMULATOR_PORT: ' 12000',
      OPENAI_EMULATOR_PORT: '8100 ',
      EMULATOR_LATENCY_MS: '250',
      BEDROCK_EMULATOR_MS_PER_TOKEN: ' 30 ',
      EMULATOR_FAULTS: '429:0.2, 503:0.1,hang:0.05,malformed:0.05,midstream-error:0.01,validation',
    });
    assert.deepEqual(cfg, {
      host: '0.0.0.0',
      bedrockPort: 0,
      ollamaPort: 12000,
      openaiPort: 8100,
      latencyMs: 250,
      faults: [
        { kind: 'status', status: 429, rate: 0.2 },
        { kind: 'status', status: 503, rate: 0.1 },
        { kind: 'hang', rate: 0.05 },
        { kind: 'malformed', rate: 0.05 },
        { kind: 'midstream-error', rate: 0.01 },
        { kind: 'validation', rate: 1 },
      ],
      bedrockMsPerOutputToken: 30,
    });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['BEDROCK_EMULATOR_PORT', 'abc', /expected integer 0-65535/],
    ['OLLAMA_EMULATOR_PORT', '70000', /expected integer 0-65535/],
    ['EMULATOR_LATENCY_MS', '-5', /expected integer >= 0/],
    ['BEDROCK_EMULATOR_MS_PER_TOKEN', '1.5', /expected integer >= 0/],
    ['EMULATOR_FAULTS', '429:1.5', /rate "1.5" in "429:1.5" is not a number in 0\.\.1/],
    ['EMULATOR_FAULTS', '429:', /rate "" in "429:"/],
    ['EMULATOR_FAULTS', '999:0.1', /status 999/],
    ['EMULATOR_FAULTS', 'explode:0.1', /unknown fault "explode"/],
    ['EMULATOR_FAULTS', 'status:0.1', /unknown fault "status"/],
    ['EMULATOR_FAULTS', 'hang:0.1:2', /more than one ':'/],
  ];
  for (const [key, value, message] of bad) {
    it(`rejects ${key}=${value} with a ConfigError naming the key`, () => {
      assert.throws(
        () => loadEmulatorConfig({ [key]: value }),
        (err: unknown) => err instanceof ConfigError && err.key === key && err.message.startsWith(`${key}=`) && message.test(err.message),
      );
    });
  }

  it('documents every key it reads, with its default', () => {
    assert.deepEqual(
      EMULATOR_CONFIG_KEYS.map((k) => k.key),
      [
        'EMULATOR_LATENCY_MS',
        'EMULATOR_HOST',
        'BEDROCK_EMULATOR_PORT',
        'OLLAMA_EMULATOR_PORT',
        'OPENAI_EMULATOR_PORT',
        'BEDROCK_EMULATOR_MS_PER_TOKEN',
        'EMULATOR_FAULTS',
      ],
    );
    for (const k of EMULATOR_CONFIG_KEYS) assert.ok(k.default && k.accepts && k.description, k.key);
  });

  it('parseFaultList ignores empty entries', () => {
    assert.deepEqual(parseFaultList(' , 503:0.5 ,'), [{ kind: 'status', status: 503, rate: 0.5 }]);
  });
});
