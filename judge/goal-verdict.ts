/**
 * The judge role's "is the goal met?" (`stop.goalMet`): the prompt, with the conversation so far,
 * the asker's persona and goal and the answer format (the emulators recognise it), and the
 * verdict parsed from the answer: `{"goalMet": true|false, "reason": "…"}`. An answer without that
 * object is a verdict of not met with the reason saying so (never a guessed "met").
 */
import type { ConversationSettings, GoalVerdict, TurnRecord } from '../conversation/model';
import { personaText } from '../conversation/goal-rules';

/** Output cap of a verdict call: the JSON and a sentence. */
export const GOAL_VERDICT_MAX_TOKENS = 256;

/** The answer format appended to every goal prompt (emulators/emulated-text.ts recognises it). */
export const GOAL_ANSWER_FORMAT = 'Answer with only this JSON: {"goalMet": <true|false>, "reason": "<one sentence>"}';

/** The prompt asking whether the goal is met after the turns recorded so far. */
export function goalPrompt(settings: Pick<ConversationSettings, 'initialQuery' | 'persona' | 'goal'>, turns: TurnRecord[]): string {
  const lines = [
    'You judge whether the asker in this conversation has got what they wanted.',
    ...(settings.persona !== undefined ? [`The asker: ${personaText(settings.persona)}`] : []),
    `The asker's goal: ${settings.goal ?? ''}`,
    '',
    `Opening question: ${settings.initialQuery}`,
  ];
  for (const t of [...turns].sort((a, b) => a.turn - b.turn)) {
    if (t.cloud) lines.push(`Turn ${t.turn} question: ${t.cloud.question}`, `Turn ${t.turn} answer: ${t.cloud.answer}`);
    if (t.local) lines.push(`Turn ${t.turn} follow-up: ${t.local.followUp}`);
  }
  return `${lines.join('\n')}\n\nIs the asker's goal met?\n${GOAL_ANSWER_FORMAT}`;
}

/** The verdict in a judge's answer: the first JSON object with a boolean `goalMet`; else not met, saying why. */
export function parseGoalVerdict(answer: string, model: string): GoalVerdict {
  for (let start = answer.indexOf('{'); start >= 0; start = answer.indexOf('{', start + 1)) {
    for (let end = answer.lastIndexOf('}'); end > start; end = answer.lastIndexOf('}', end - 1)) {
      let v: unknown;
      try {
        v = JSON.parse(answer.slice(start, end + 1));
      } catch {
        continue;
      }
      const o = v as { goalMet?: unknown; reason?: unknown } | null;
      if (!o || typeof o !== 'object' || typeof o.goalMet !== 'boolean') continue;
      return { met: o.goalMet, ...(typeof o.reason === 'string' && o.reason ? { reason: o.reason.slice(0, 500) } : {}), model };
    }
  }
  return { met: false, reason: `no verdict in the answer: ${answer.slice(0, 200)}`, model };
}
