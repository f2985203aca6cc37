import assert from 'node:assert/strict';
import { baseModelId, defaultMaxTokensFor, maxTokensProblem, outputCapOf } from '../../../shared/model-limits';

describe('model-limits: output caps by model family', () => {
  it('reduces inference-profile ids and ARNs to the base model id', () => {
    const base = 'anthropic.claude-3-5-sonnet-20241022-v2:0';
    for (const id of [base, `us.${base}`, `eu.${base}`, `apac.${base}`, `global.${base}`, `us-gov.${base}`,
      `arn:aws:bedrock:us-east-1::foundation-model/${base}`, `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.${base}`]) {
      assert.equal(baseModelId(id), base, id);
    }
    const app = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    assert.equal(baseModelId(app), app, 'an application profile names no model');
  });

  it('knows the caps of the common families and lets unknown models through', () => {
    const cases: Array<[string, number | undefined]> = [
      ['anthropic.claude-3-haiku-20240307-v1:0', 4096],
      ['us.anthropic.claude-3-5-haiku-20241022-v1:0', 8192],
      ['us.anthropic.claude-3-7-sonnet-20250219-v1:0', 64000],
      ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 64000],
      ['us.anthropic.claude-opus-4-1-20250805-v1:0', 32000],
      ['meta.llama3-70b-instruct-v1:0', 2048],
      ['us.meta.llama3-3-70b-instruct-v1:0', 2048],
      ['amazon.titan-text-express-v1', 8192],
      ['us.amazon.nova-pro-v1:0', 5000],
      ['mistral.mixtral-8x7b-instruct-v0:1', 4096],
      ['example.unknown-model-v1', undefined],
      ['anthropic.claude-sonnet-4-6', undefined],
    ];
    for (const [id, cap] of cases) assert.equal(outputCapOf(id)?.maxOutputTokens, cap, id);
  });

  it('names the field, the model and the cap when maxTokens is over it', () => {
    assert.equal(maxTokensProblem('anthropic.claude-3-haiku-20240307-v1:0', 4096), undefined);
    assert.equal(
      maxTokensProblem('us.meta.llama3-1-8b-instruct-v1:0', 4000, 'parameters.max_tokens'),
      'parameters.max_tokens 4000 is above the output cap of us.meta.llama3-1-8b-instruct-v1:0 (Llama 3.x): at most 2048',
    );
    assert.equal(maxTokensProblem('example.unknown-model-v1', 1_000_000), undefined);
  });

  it('lowers the default maxTokens to the cap of a small model', () => {
    assert.equal(defaultMaxTokensFor('meta.llama3-8b-instruct-v1:0', 4096), 2048);
    assert.equal(defaultMaxTokensFor('anthropic.claude-3-haiku-20240307-v1:0', 1024), 1024);
    assert.equal(defaultMaxTokensFor('example.unknown-model-v1', 1024), 1024);
  });
});
