/**
 * Forks (`POST /conversation/:id/fork`): what a fork request may change, the fork's settings
 * (the parent's with the changes, checked like a `POST /conversation` body), which turns of the
 * parent it shares, and which of its turns are its own (asked and billed by it). No I/O.
 */
import { z } from 'zod';
import type { Config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { LIMITS } from '../shared/limits';
import { conversationRequestSchema, describeIssues, parseConversationRequest } from './conversation-request';
import type { ModelChecks } from './model-admission';
import type { ConversationSettings, TurnRecord } from './model';

/**
 * A fork request: `atTurn` (the first turn the fork asks again; turns 1..atTurn-1 are the
 * parent's) and any setting of `POST /conversation` but `initialQuery` (shared with the parent).
 * Unknown keys are refused.
 */
export const forkRequestSchema = conversationRequestSchema.omit({ initialQuery: true }).extend({
  atTurn: z.number().int().min(1).max(LIMITS.maxTurns.max),
});

export type ForkRequest = z.infer<typeof forkRequestSchema>;

/** The number of complete turns (cloud answer and local follow-up) from turn 1 on: what a fork can share. */
export function completeTurns(turns: readonly TurnRecord[]): number {
  const byTurn = new Map(turns.map((t) => [t.turn, t]));
  let k = 0;
  while (byTurn.get(k + 1)?.cloud && byTurn.get(k + 1)?.local) k++;
  return k;
}

/** The turns a conversation asked itself: all of them, or a fork's from its branch point on. */
export function ownTurns<T extends { turn: number }>(settings: Pick<ConversationSettings, 'fork'>, turns: readonly T[]): T[] {
  const at = settings.fork?.atTurn;
  return at === undefined ? [...turns] : turns.filter((t) => t.turn >= at);
}

/** The parent's settings as a request body (every request field the settings hold under the same name). */
function requestOf(parent: ConversationSettings): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const settings = parent as unknown as Record<string, unknown>;
  for (const key of Object.keys(conversationRequestSchema.shape)) {
    if (key === 'outputFile' || key === 'cloudModel') continue;
    if (settings[key] !== undefined) body[key] = settings[key];
  }
  body.cloudModel = parent.cloudFallbacks?.length ? [parent.cloudModel, ...parent.cloudFallbacks] : parent.cloudModel;
  return body;
}

/**
 * Checks a fork request against its parent's settings and gives the fork's settings: the parent's
 * with the request's changes (`templates` and `systemPrompts` per entry), checked as a
 * `POST /conversation` body would be, with `fork` set. Throws a ValidationError (400) naming the
 * field: a bad or unknown one, or an `atTurn` past the fork's `maxTurns`. Whether the parent has
 * reached the turn is the caller's check (a 409, {@link completeTurns}).
 */
export function parseForkRequest(
  body: unknown,
  parentId: string,
  parent: ConversationSettings,
  config: Config,
  forkId: string,
  checks?: ModelChecks,
): { atTurn: number; settings: ConversationSettings } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body must be a JSON object with at least "atTurn"');
  }
  const parsed = forkRequestSchema.safeParse(body);
  if (!parsed.success) {
    const { message, details } = describeIssues(parsed.error);
    throw new ValidationError(`invalid fork request: ${message}`, details);
  }
  const { atTurn, ...changes } = parsed.data;
  const base = requestOf(parent);
  const merged: Record<string, unknown> = { ...base, ...changes };
  for (const key of ['templates', 'systemPrompts'] as const) {
    if (changes[key] !== undefined) merged[key] = { ...(base[key] as object | undefined), ...changes[key] };
  }
  const settings = parseConversationRequest(merged, config, forkId, checks);
  if (atTurn > settings.maxTurns) {
    const problem = `${atTurn} is past the fork's maxTurns (${settings.maxTurns}): a fork asks at least turn atTurn`;
    throw new ValidationError(`invalid fork request: atTurn: ${problem}`, [{ field: 'atTurn', problem }]);
  }
  return { atTurn, settings: { ...settings, fork: { parentId, atTurn } } };
}
