/**
 * The local step of turn k: turn the cloud answer into a follow-up with the local model, record it
 * once; what follows is {@link nextAfter}'s decision (the cloud step of turn k+1, or the
 * transcript at maxTurns or a stop phrase).
 */
import { followUpPrompt, historyOf } from '../conversation/turn-rules';
import type { PipelineDeps } from './step-lifecycle';
import { createTurnProcessor, type TurnProcessor } from './turn-step';

/** The local queue's processor. */
export function createLocalProcessor(deps: PipelineDeps): TurnProcessor<'local'> {
  return createTurnProcessor<'local'>(deps, {
    side: 'local',
    prepare: (record, turns, turn) => {
      const s = record.settings;
      const cloudStep = turns.find((t) => t.turn === turn)?.cloud;
      if (!cloudStep) throw new Error(`cloud step of turn ${turn} missing for conversation ${record.id}`);
      return {
        prompt: followUpPrompt(s, cloudStep.question, cloudStep.answer),
        model: s.localModel,
        system: s.systemPrompts.local,
        history: historyOf('local', turns, turn, s),
        think: s.think === true,
      };
    },
    // The reasoning is kept apart: only the answer becomes the follow-up (and the next question).
    toStep: (prompt, reply) => ({
      prompt,
      followUp: reply.text,
      model: reply.model,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      latencyMs: reply.latencyMs,
      stopReason: reply.stopReason,
      at: Date.now(),
      ...(reply.thinking ? { thinking: reply.thinking } : {}),
      ...(reply.promptTruncated ? { promptTruncated: true } : {}),
      ...(reply.truncated ? { truncated: true } : {}),
    }),
    recorded: (t) => t?.local,
    textOf: (step) => step.followUp,
    messages: {
      recorded: 'follow-up recorded',
      exchange: 'local exchange',
      exchangeFields: (prompt, reply) => ({ prompt, followUp: reply.text }),
    },
  });
}
