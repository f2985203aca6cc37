import assert from 'node:assert/strict';
import { loadConfig, type Env } from '../../../shared/config';
import { chooseCloud, localReason } from '../../../stack/backend-choice';

const cloud = (env: Env) => chooseCloud(loadConfig(env), env);

describe('which backends npm start runs, and why (stack/backend-choice.ts)', () => {
  it('credentials alone never switch npm start to real Bedrock: AWS_PROFILE, AWS_ACCESS_KEY_ID stay emulated, and the reason says so', () => {
    for (const env of [{}, { AWS_PROFILE: 'work' }, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 's' }]) {
      const c = cloud(env);
      assert.deepEqual([c.emulate, c.billed], [true, false], JSON.stringify(env));
      assert.match(c.reason, /^CLOUD unset: the Bedrock emulator/);
      assert.match(c.reason, /CLOUD=gateway or CLOUD=bedrock calls real, billed Bedrock/);
    }
    assert.match(cloud({ AWS_PROFILE: 'work' }).reason, /AWS_PROFILE is set but not used/);
  });

  it('an explicit CLOUD=gateway or CLOUD=bedrock with no endpoint is real, billed Bedrock in AWS_REGION', () => {
    for (const CLOUD of ['gateway', 'bedrock']) {
      const c = cloud({ CLOUD, AWS_REGION: 'eu-west-1' });
      assert.deepEqual([c.emulate, c.billed], [false, true], CLOUD);
      assert.match(c.reason, new RegExp(`^CLOUD=${CLOUD}.*real Bedrock in eu-west-1.*billed`));
    }
  });

  it('CLOUD=emulated wins over everything', () => {
    const c = cloud({ CLOUD: 'emulated', API_GATEWAY_URL: 'https://x.example/prod/generate', AWS_PROFILE: 'p' });
    assert.deepEqual([c.emulate, c.billed], [true, false]);
    assert.match(c.reason, /^CLOUD=emulated/);
  });

  it('an endpoint the configuration names is used, never shadowed by the emulator, and named', () => {
    assert.match(cloud({ API_GATEWAY_URL: 'https://x.example/prod/generate' }).reason, /^API_GATEWAY_URL is set/);
    assert.equal(cloud({ API_GATEWAY_URL: 'https://x.example/prod/generate' }).emulate, false);
    assert.match(cloud({ BEDROCK_ENDPOINT: 'http://127.0.0.1:4010' }).reason, /^BEDROCK_ENDPOINT is set/);
    assert.match(cloud({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://127.0.0.1:4010' }).reason, /AWS_ENDPOINT_URL_BEDROCK_RUNTIME is set/);
    const direct = cloud({ CLOUD: 'bedrock', BEDROCK_ENDPOINT: 'http://127.0.0.1:4010' });
    assert.deepEqual([direct.emulate, direct.billed], [false, false]);
  });

  it('the local side: OLLAMA_HOST, or the emulator, with the setting named', () => {
    assert.match(localReason(loadConfig({})), /OLLAMA_HOST unset: the Ollama emulator/);
    assert.match(localReason(loadConfig({ OLLAMA_HOST: 'http://gpu:11434' })), /OLLAMA_HOST is set/);
    assert.match(localReason(loadConfig({ LOCAL: 'openai' })), /OPENAI_BASE_URL unset: the OpenAI-compatible emulator/);
  });
});
