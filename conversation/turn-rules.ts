/**
 * The conversation's turn logic as pure functions: which question a turn asks, which history each
 * model sees, how the follow-up prompt is built, and when the chain stops.
 */
import type { ConversationSettings, TurnRecord, Side } from './model';
import type { ChatTurn } from '../providers/llm-provider';
import { renderTemplate } from './templates';

export { DEFAULT_TEMPLATES, renderTemplate } from './templates';

/** The question put to the cloud model at `turn` (1-based). */
export function questionFor(settings: ConversationSettings, turns: TurnRecord[], turn: number): string {
  if (turn === 1) return settings.initialQuery;
  const prev = turns.find((t) => t.turn === turn - 1);
  if (!prev?.cloud || !prev.local) throw new Error(`turn ${turn - 1} is not complete; cannot build turn ${turn}`);
  return renderTemplate(settings.templates.nextQuery, {
    followUp: prev.local.followUp,
    answer: prev.cloud.answer,
    question: prev.cloud.question,
  });
}

/** The prompt the local model gets to turn the cloud answer into a follow-up. */
export function followUpPrompt(settings: ConversationSettings, question: string, answer: string): string {
  return renderTemplate(settings.templates.followUp, { answer, question });
}

/** Up to `contextTurns` earlier exchanges of one side, oldest first. */
export function historyFor(side: Side, turns: TurnRecord[], turn: number, contextTurns: number): ChatTurn[] {
  const out: ChatTurn[] = [];
  for (const t of turns) {
    if (t.turn >= turn || t.turn < turn - contextTurns) continue;
    if (side === 'cloud' && t.cloud) {
      out.push({ role: 'user', content: t.cloud.question }, { role: 'assistant', content: t.cloud.answer });
    } else if (side === 'local' && t.local) {
      out.push({ role: 'user', content: t.local.prompt }, { role: 'assistant', content: t.local.followUp });
    }
  }
  return out;
}

export function hitsStopPhrase(text: string, stopPhrase: string | undefined): boolean {
  return Boolean(stopPhrase) && text.toLowerCase().includes(stopPhrase!.toLowerCase());
}
