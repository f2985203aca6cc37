/**
 * The cloud step of turn k: ask the cloud model the turn's question (with up to `contextTurns`
 * earlier exchanges), record the answer once; what follows is {@link nextAfter}'s decision (the
 * local step, or the transcript when the answer holds the stop phrase or has no usable text).
 */
import { cacheFields, historyOf, questionFor } from '../conversation/turn-rules';
import type { PipelineDeps } from './step-lifecycle';
import { createTurnProcessor, type TurnProcessor } from './turn-step';

/** The cloud queue's processor. */
export function createCloudProcessor(deps: PipelineDeps): TurnProcessor<'cloud'> {
  return createTurnProcessor<'cloud'>(deps, {
    side: 'cloud',
    prepare: (record, turns, turn) => {
      const s = record.settings;
      return {
        prompt: questionFor(s, turns, turn),
        model: s.cloudModel,
        system: s.systemPrompts.cloud,
        history: historyOf('cloud', turns, turn, s),
        fallbackModels: s.cloudFallbacks,
        ...cacheFields(s, turn),
      };
    },
    toStep: (question, reply, startedAt) => ({
      question,
      answer: reply.text,
      model: reply.model,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      latencyMs: reply.latencyMs,
      stopReason: reply.stopReason,
      startedAt,
      at: Date.now(),
      ...(reply.requestedModel ? { requestedModel: reply.requestedModel } : {}),
      ...(reply.truncated ? { truncated: true } : {}),
      ...(reply.reasoningTokens !== undefined
        ? { reasoningTokens: reply.reasoningTokens, ...(reply.reasoningTokensEstimated ? { reasoningTokensEstimated: true } : {}) }
        : {}),
      ...(reply.omittedParameters?.length ? { omittedParameters: reply.omittedParameters } : {}),
      ...(reply.cacheReadInputTokens ? { cacheReadInputTokens: reply.cacheReadInputTokens } : {}),
      ...(reply.cacheWriteInputTokens ? { cacheWriteInputTokens: reply.cacheWriteInputTokens } : {}),
    }),
    recorded: (t) => t?.cloud,
    textOf: (step) => step.answer,
    // A filtered or empty answer would be sent back as history next turn, which Converse refuses:
    // nextAfter ends the conversation here, completed, with the reason Bedrock gave.
    stopReasonOf: (step) => step.stopReason,
    messages: {
      recorded: 'cloud reply recorded',
      exchange: 'cloud exchange',
      exchangeFields: (question, reply) => ({ question, answer: reply.text }),
    },
  });
}
