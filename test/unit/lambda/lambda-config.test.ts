import assert from 'node:assert/strict';
import { loadLambdaConfig } from '../../../lambda/lambda-config';
import { loadConfig, ollamaHostOf } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';

describe('loadLambdaConfig: the Lambda reads only its own keys', () => {
  it('a bad key of another process (WORKER_ROLES, PORT) does not break the Lambda, while loadConfig rejects it', () => {
    const env = { WORKER_ROLES: 'bogus', PORT: 'eighty', BEDROCK_MODEL_ID: 'm-1', AWS_REGION: 'eu-west-1' };
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.key === 'WORKER_ROLES',
    );
    const c = loadLambdaConfig(env);
    assert.equal(c.bedrockModelId, 'm-1');
    assert.equal(c.awsRegion, 'eu-west-1');
  });

  it('gives the same values and defaults as loadConfig for the keys it reads', () => {
    const env = { LOG_LEVEL: 'DEBUG', BEDROCK_ENDPOINT: 'http://127.0.0.1:4010/', DEFAULT_MAX_TOKENS: '512' };
    const full = loadConfig(env);
    const own = loadLambdaConfig(env);
    for (const k of ['logLevel', 'awsRegion', 'bedrockModelId', 'bedrockEndpoint', 'defaultMaxTokens'] as const)
      assert.equal(own[k], full[k], k);
  });

  it('a bad key of its own is a ConfigError naming it', () => {
    assert.throws(
      () => loadLambdaConfig({ LOG_LEVEL: 'loud' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'LOG_LEVEL',
    );
    assert.throws(
      () => loadLambdaConfig({ BEDROCK_ENDPOINT: 'ftp://x' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'BEDROCK_ENDPOINT',
    );
  });
});

describe('ollamaHostOf', () => {
  it('is OLLAMA_HOST when set, else the documented default, which loadConfig leaves unset for npm start', () => {
    assert.equal(ollamaHostOf(loadConfig({ OLLAMA_HOST: ':11500' })), 'http://127.0.0.1:11500');
    const unset = loadConfig({});
    assert.equal(unset.ollamaHost, undefined);
    assert.equal(ollamaHostOf(unset), 'http://127.0.0.1:11434');
  });
});
