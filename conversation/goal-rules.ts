/**
 * Personas and goals (no I/O): the text `{{persona}}` and `{{goal}}` stand for, the local side's
 * system prompt with them, and when the judge role is asked whether the goal is met
 * (`stop.goalMet`: after the local follow-up of every k-th turn). The verdict's prompt and
 * parsing are the judge's (judge/goal-verdict.ts); the decision it feeds is nextAfter's.
 */
import type { ConversationSettings, Persona } from './model';
import { renderTemplate } from './templates';

const PERSONA_PARTS = ['role', 'expertise', 'style', 'language'] as const;

/** `{{persona}}`: the string as given, or its parts as `role: …; expertise: …; …`; '' without one. */
export function personaText(persona: Persona | undefined): string {
  if (persona === undefined) return '';
  if (typeof persona === 'string') return persona;
  return PERSONA_PARTS.filter((k) => persona[k] !== undefined && persona[k] !== '')
    .map((k) => `${k}: ${persona[k]}`)
    .join('; ');
}

/** The values of `{{persona}}` and `{{goal}}` for a conversation's templates. */
export function personaValues(s: Pick<ConversationSettings, 'persona' | 'goal'>): { persona: string; goal: string } {
  return { persona: personaText(s.persona), goal: s.goal ?? '' };
}

/** The local system prompt when a persona or goal is given and the conversation names none of its own. */
export const DEFAULT_PERSONA_SYSTEM = {
  persona: 'You are the one asking the questions in this conversation. You are: {{persona}}.',
  goal: 'What you want to get out of the conversation: {{goal}}.',
} as const;

/**
 * The local side's system prompt: the conversation's own with `{{persona}}` and `{{goal}}`
 * filled, else (with a persona or a goal) the default built from {@link DEFAULT_PERSONA_SYSTEM},
 * else none.
 */
export function localSystemPrompt(s: Pick<ConversationSettings, 'systemPrompts' | 'persona' | 'goal'>): string | undefined {
  const values = personaValues(s);
  if (s.systemPrompts.local !== undefined) return renderTemplate(s.systemPrompts.local, values);
  const parts = [...(values.persona ? [DEFAULT_PERSONA_SYSTEM.persona] : []), ...(values.goal ? [DEFAULT_PERSONA_SYSTEM.goal] : [])];
  return parts.length ? renderTemplate(parts.join(' '), values) : undefined;
}

/** True when the goal is checked after the local follow-up of `turn`. */
export function goalCheckDue(s: Pick<ConversationSettings, 'goal' | 'stop'>, turn: number): boolean {
  const check = s.stop?.goalMet;
  return check !== undefined && s.goal !== undefined && turn % check.every === 0;
}
