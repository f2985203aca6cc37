/**
 * The local step of turn k: turn the cloud answer into a follow-up with the local model, record it
 * once; what follows is {@link nextAfter}'s decision (the cloud step of turn k+1, or the
 * transcript at maxTurns or a stop phrase).
 */
import { followUpPrompt, historyOf } from '../conversation/turn-rules';
import { goalCheckDue, localSystemPrompt } from '../conversation/goal-rules';
import { GOAL_VERDICT_MAX_TOKENS, goalPrompt, parseGoalVerdict } from '../judge/goal-verdict';
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
        system: localSystemPrompt(s),
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
      ...(reply.promptEvalMs !== undefined ? { promptEvalMs: reply.promptEvalMs } : {}),
      ...(reply.truncated ? { truncated: true } : {}),
    }),
    // stop.goalMet: the judge role's verdict on the conversation with this follow-up, recorded with it (one HSETNX).
    annotate: async ({ job, record, turn, step, lifecycle, signal }) => {
      const s = record.settings;
      if (!goalCheckDue(s, turn) || step.followUp.trim() === '') return step;
      const check = s.stop!.goalMet!;
      const all = (await deps.store.getConversation(record.id))?.turns ?? [];
      const turns = [...all.filter((t) => t.turn !== turn), { ...all.find((t) => t.turn === turn), turn, local: step }];
      const model = check.model ?? (check.side === 'cloud' ? s.cloudModel : s.localModel);
      // The verdict is reserved and settled like a turn's call, with its own output cap, at temperature 0.
      const asked = { ...record, settings: { ...s, maxTokens: GOAL_VERDICT_MAX_TOKENS, temperature: 0, think: false } };
      const reply = await lifecycle.ask(job, asked, check.side, signal, { prompt: goalPrompt(s, turns), model });
      if (!reply) return null;
      return { ...step, goal: parseGoalVerdict(reply.text, reply.model || model) };
    },
    goalMetOf: (step) => step.goal?.met === true,
    recorded: (t) => t?.local,
    textOf: (step) => step.followUp,
    messages: {
      recorded: 'follow-up recorded',
      exchange: 'local exchange',
      exchangeFields: (prompt, reply) => ({ prompt, followUp: reply.text }),
    },
  });
}
