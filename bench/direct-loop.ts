/**
 * The floor the pipeline is measured against: one conversation run as a plain in-process loop that
 * makes the same provider calls in the same order with the same arguments as the cloud and local
 * processors (see `turn-calls.ts`), but with no Redis, no queue and no job in between.
 */
import type { ConversationSettings, TurnRecord } from '../conversation/model';
import type { LlmProvider } from '../providers/llm-provider';
import { hitsStopPhrase } from '../conversation/turn-rules';
import { turnCalls } from './turn-calls';

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
  let completed = 0;
  for (let turn = 1; turn <= s.maxTurns && !opts.stop?.(); turn++) {
    const cloudCall = turnCalls.cloud(id, s, turns, turn, opts.cloudTimeoutMs);
    const startedAt = Date.now();
    const rec: TurnRecord = { turn, cloud: turnCalls.cloudStep(cloudCall, await opts.cloud.generate(cloudCall), startedAt) };
    turns.push(rec);
    if (hitsStopPhrase(rec.cloud!.answer, s.stopPhrase)) break;
    const localCall = turnCalls.local(id, s, turns, turn, rec.cloud!, opts.localTimeoutMs);
    rec.local = turnCalls.localStep(localCall, await opts.local.generate(localCall));
    completed++;
    if (hitsStopPhrase(rec.local.followUp, s.stopPhrase)) break;
  }
  return completed;
}
