import assert from 'node:assert/strict';
import { plannedOmissions, rejectedParameterOf } from '../../../bedrock/parameter-rejection';

const ALL = { temperature: true, topP: true, temperatureWithTopP: true, system: true };
const validation = (message: string) => Object.assign(new Error(message), { name: 'ValidationException' });

describe('parameters a model rejects (bedrock/parameter-rejection.ts)', () => {
  describe('rejectedParameterOf: which parameter a ValidationException names (wording read 2026-12-02)', () => {
    it('temperature: "`temperature` is deprecated for this model." (cline/cline#10572, promptfoo/promptfoo#10307)', () => {
      assert.equal(
        rejectedParameterOf(validation('The model returned the following errors: `temperature` is deprecated for this model.')),
        'temperature',
      );
      // The same rejection with the Anthropic error JSON embedded (tinovyatkin/amazon-bedrock-copilot-chat#546).
      assert.equal(
        rejectedParameterOf(
          validation(
            'The model returned the following errors: {"type":"error","error":{"type":"invalid_request_error","message":"temperature is deprecated for this model."}}',
          ),
        ),
        'temperature',
      );
    });

    it('temperature with top_p: "cannot both be specified" drops top_p (skydiscover-ai/skydiscover#15, BerriAI/litellm#15097)', () => {
      assert.equal(
        rejectedParameterOf(
          validation(
            'The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.',
          ),
        ),
        'top_p',
      );
    });

    it('system: "This model doesn\'t support system messages." (Mintplex-Labs/anything-llm#2486, 567-labs/instructor#1753)', () => {
      assert.equal(
        rejectedParameterOf(
          validation(
            "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
          ),
        ),
        'system',
      );
    });

    it('nothing for other ValidationExceptions, other exceptions, or non-errors', () => {
      assert.equal(rejectedParameterOf(validation('The maximum tokens you requested exceeds the model limit of 4096.')), undefined);
      assert.equal(
        rejectedParameterOf(Object.assign(new Error('`temperature` is deprecated for this model.'), { name: 'ThrottlingException' })),
        undefined,
      );
      assert.equal(rejectedParameterOf('`temperature` is deprecated'), undefined);
      assert.equal(rejectedParameterOf(undefined), undefined);
    });
  });

  describe('plannedOmissions: what is left out before sending', () => {
    it('only what the call sends and the model rejects (by the catalogue or as learned)', () => {
      assert.deepEqual(plannedOmissions(ALL, { temperature: 0.5, system: 'be brief' }), []);
      assert.deepEqual(plannedOmissions({ ...ALL, temperature: false }, { temperature: 0.5 }), ['temperature']);
      assert.deepEqual(plannedOmissions({ ...ALL, temperature: false }, {}), []);
      assert.deepEqual(plannedOmissions(ALL, { temperature: 0.5, system: 'x' }, ['temperature', 'system']), ['temperature', 'system']);
      assert.deepEqual(plannedOmissions(ALL, { system: '' }, ['system']), []);
    });

    it('a model that rejects the pair keeps the temperature and loses top_p', () => {
      assert.deepEqual(plannedOmissions({ ...ALL, temperatureWithTopP: false }, { temperature: 0.2, topP: 0.9 }), ['top_p']);
      assert.deepEqual(plannedOmissions({ ...ALL, temperatureWithTopP: false }, { topP: 0.9 }), []);
    });
  });
});
