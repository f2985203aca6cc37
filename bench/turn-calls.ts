/**
 * The provider calls of one turn, built exactly as the cloud and local processors build them (same
 * turn-rules functions, same fields), for the loops the pipeline is compared with.
 */
import type { CloudStep, ConversationSettings, LocalStep, TurnRecord } from '../conversation/model';
import type { LlmCall, LlmReply } from '../providers/llm-provider';
import { cacheFields, followUpPrompt, historyOf, questionFor } from '../conversation/turn-rules';

export const turnCalls = {
  /** The cloud call of `turn` given the turns so far. */
  cloud(id: string, s: ConversationSettings, turns: TurnRecord[], turn: number, timeoutMs: number): LlmCall {
    return {
      prompt: questionFor(s, turns, turn),
      model: s.cloudModel,
      system: s.systemPrompts.cloud,
      history: historyOf('cloud', turns, turn, s),
      temperature: s.temperature,
      maxTokens: s.maxTokens,
      conversationId: id,
      turn,
      timeoutMs,
      ...cacheFields(s, turn),
    };
  },
  /** The local call of `turn`, whose cloud step is `cloud`. */
  local(id: string, s: ConversationSettings, turns: TurnRecord[], turn: number, cloud: CloudStep, timeoutMs: number): LlmCall {
    return {
      prompt: followUpPrompt(s, cloud.question, cloud.answer),
      model: s.localModel,
      system: s.systemPrompts.local,
      history: historyOf('local', turns, turn, s),
      temperature: s.temperature,
      maxTokens: s.maxTokens,
      conversationId: id,
      turn,
      timeoutMs,
    };
  },
  cloudStep(call: LlmCall, reply: LlmReply, startedAt: number): CloudStep {
    return {
      question: call.prompt,
      answer: reply.text,
      model: reply.model,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      latencyMs: reply.latencyMs,
      stopReason: reply.stopReason,
      startedAt,
      at: Date.now(),
    };
  },
  localStep(call: LlmCall, reply: LlmReply): LocalStep {
    return {
      prompt: call.prompt,
      followUp: reply.text,
      model: reply.model,
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      latencyMs: reply.latencyMs,
      stopReason: reply.stopReason,
      at: Date.now(),
    };
  },
};
