/**
 * The floor the pipeline is measured against: one conversation run as a plain in-process loop that
 * makes the same provider calls in the same order with the same arguments as the cloud and local
 * processors (questions, follow-up prompts and histories come from the same turn-chain functions),
 * but with no Redis, no queue and no job in between.
 */
import type { ConversationSettings, TurnRecord } from '../shared/conversation-store';
import type { LlmProvider } from '../shared/llm';
import { followUpPrompt, historyFor, hitsStopPhrase, questionFor } from '../workers/turn-chain';

export interface DirectLoopOptions {
  cloud: LlmProvider;
  local: LlmProvider;
  /** Per-call timeouts, as the workers use them (API_GATEWAY_TIMEOUT_MS, OLLAMA_TIMEOUT_MS). */
  cloudTimeoutMs: number;
  localTimeoutMs: number;
  /** Checked before each turn: true stops the loop early (throughput windows). */
  stop?: () => boolean;
}

/** Runs one conversation to its end; returns the number of completed turns. */
export async function runDirectConversation(id: string, s: ConversationSettings, opts: DirectLoopOptions): Promise<number> {
  const turns: TurnRecord[] = [];
  for (let turn = 1; turn <= s.maxTurns; turn++) {
    if (opts.stop?.()) return turns.length;
    const question = questionFor(s, turns, turn);
    const startedAt = Date.now();
    const answer = await opts.cloud.generate({
      prompt: question, model: s.cloudModel, system: s.systemPrompts.cloud, history: historyFor('cloud', turns, turn, s.contextTurns),
      temperature: s.temperature, maxTokens: s.maxTokens, conversationId: id, turn, timeoutMs: opts.cloudTimeoutMs,
    });
    const rec: TurnRecord = {
      turn,
      cloud: {
        question, answer: answer.text, model: answer.model, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens,
        latencyMs: answer.latencyMs, stopReason: answer.stopReason, startedAt, at: Date.now(),
      },
    };
    turns.push(rec);
    if (hitsStopPhrase(answer.text, s.stopPhrase)) return turns.length - 1;
    const prompt = followUpPrompt(s, question, answer.text);
    const follow = await opts.local.generate({
      prompt, model: s.localModel, system: s.systemPrompts.local, history: historyFor('local', turns, turn, s.contextTurns),
      temperature: s.temperature, maxTokens: s.maxTokens, conversationId: id, turn, timeoutMs: opts.localTimeoutMs,
    });
    rec.local = {
      prompt, followUp: follow.text, model: follow.model, inputTokens: follow.inputTokens, outputTokens: follow.outputTokens,
      latencyMs: follow.latencyMs, stopReason: follow.stopReason, at: Date.now(),
    };
    if (hitsStopPhrase(follow.text, s.stopPhrase)) break;
  }
  return turns.filter((t) => t.local).length;
}
