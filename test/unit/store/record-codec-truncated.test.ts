/**
 * The record codec keeps `truncated`, the reasoning tokens and the omitted parameters of a step as
 * trailing fields (store/record-codec.ts), so a reader that predates them reads the step as
 * before: the first nine (cloud) and eight (local) positions keep their meaning.
 */
import assert from 'node:assert/strict';
import { decodeCloudStep, decodeLocalStep, encodeCloudStep, encodeLocalStep } from '../../../store/record-codec';
import type { CloudStep, LocalStep } from '../../../conversation/model';

const ctx = { cloudModel: 'anthropic.claude-3-haiku-20240307-v1:0', localModel: 'llama3.2', createdAt: 1_000_000 };
const cloud: CloudStep = {
  question: 'q',
  answer: 'a',
  model: ctx.cloudModel,
  inputTokens: 10,
  outputTokens: 20,
  latencyMs: 30,
  stopReason: 'max_tokens',
  startedAt: 1_000_100,
  at: 1_000_200,
};
const local: LocalStep = {
  prompt: 'p',
  followUp: 'f',
  model: ctx.localModel,
  inputTokens: 1,
  outputTokens: 2,
  latencyMs: 3,
  stopReason: 'length',
  at: 1_000_300,
};

describe('record codec: truncated, reasoning and omitted parameters (trailing fields)', () => {
  it('a cloud step round-trips truncated, reasoning tokens (estimated) and omitted parameters', () => {
    const step: CloudStep = {
      ...cloud,
      truncated: true,
      reasoningTokens: 12,
      reasoningTokensEstimated: true,
      omittedParameters: ['temperature'],
    };
    assert.deepEqual(decodeCloudStep(encodeCloudStep(step, ctx), ctx), step);
    const withFallback: CloudStep = { ...step, model: 'other', requestedModel: ctx.cloudModel };
    assert.deepEqual(decodeCloudStep(encodeCloudStep(withFallback, ctx), ctx), withFallback);
  });

  it('a cloud step without them is stored as before (no trailing fields)', () => {
    const plain = { ...cloud, stopReason: 'end_turn' };
    assert.equal(JSON.parse(encodeCloudStep(plain, ctx)).length, 9);
    assert.deepEqual(decodeCloudStep(encodeCloudStep(plain, ctx), ctx), plain);
  });

  it('the first positions keep their meaning for a reader that predates the fields', () => {
    const fields = JSON.parse(encodeCloudStep({ ...cloud, truncated: true }, ctx)) as unknown[];
    assert.deepEqual(fields.slice(0, 9), ['q', 'a', 0, 10, 20, 30, 'max_tokens', 100, 200]);
    // Position 9 was "the model asked first": '' reads as no fallback (falsy) to an older reader.
    assert.equal(fields[9], '');
    assert.deepEqual(fields[10], { t: 1 });
  });

  it('a local step round-trips truncated, alone or with thinking and a cut prompt', () => {
    for (const step of [
      { ...local, truncated: true },
      { ...local, truncated: true, thinking: 'hmm' },
      { ...local, truncated: true, promptTruncated: true },
      { ...local, promptTruncated: true },
    ] as LocalStep[]) {
      assert.deepEqual(decodeLocalStep(encodeLocalStep(step, ctx), ctx), step);
    }
    const fields = JSON.parse(encodeLocalStep({ ...local, truncated: true }, ctx)) as unknown[];
    // An older reader takes position 9 as "prompt cut": 0 means not.
    assert.deepEqual(fields.slice(8), [0, 0, 1]);
  });

  it("a local step keeps Ollama's prompt_eval_duration (promptEvalMs) last, with or without a goal verdict", () => {
    const plain: LocalStep = { ...local, promptEvalMs: 17.4 };
    const json = encodeLocalStep(plain, ctx);
    assert.deepEqual(JSON.parse(json).slice(8), [0, 0, 0, 0, 17.4]);
    assert.deepEqual(decodeLocalStep(json, ctx), plain);
    const judged: LocalStep = { ...local, goal: { met: true, model: 'm' }, promptEvalMs: 2 };
    assert.deepEqual(decodeLocalStep(encodeLocalStep(judged, ctx), ctx), judged);
    assert.equal(encodeLocalStep(local, ctx).includes('17.4'), false);
    assert.deepEqual(decodeLocalStep(encodeLocalStep(local, ctx), ctx), local);
  });
});
