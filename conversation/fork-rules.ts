/**
 * Forks (`POST /conversation/:id/fork`): what a fork request may change, the fork's settings
 * (the parent's with the changes, checked like a `POST /conversation` body), which turns of the
 * parent it shares, and which of its turns are its own (asked and billed by it). No I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { safeOutputName } from '../transcript/output-file';
import type { Config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { LIMITS } from '../shared/limits';
import { conversationRequestSchema, describeIssues, parseConversationRequest } from './conversation-request';
import type { ModelChecks } from './model-admission';
import type { ConversationSettings, ForkRef, TurnRecord } from './model';

/**
 * A fork request: `atTurn` (the first turn the fork asks again; turns 1..atTurn-1 are the
 * parent's) and any setting of `POST /conversation` but `initialQuery` (shared with the parent)
 * and `branches`/`branchAt` (a fork never branches itself). Unknown keys are refused.
 */
export const forkRequestSchema = conversationRequestSchema.omit({ initialQuery: true, branches: true, branchAt: true }).extend({
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
    if (key === 'outputFile' || key === 'cloudModel' || key === 'branches' || key === 'branchAt') continue;
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
  return { atTurn, settings: { ...settings, fork: forkRef(parentId, parent, atTurn) } };
}

/**
 * The id of a conversation's i-th branch (its `branches`): a UUID derived from the parent's id
 * and i, so making the branches again (a transcript step run twice) finds the same forks.
 */
export function branchId(parentId: string, i: number, attempt = 0): string {
  // Attempts after the first draw the id again (onto the parent's shard under REDIS_SHARDS).
  const h = createHash('sha256')
    .update(attempt === 0 ? `branch\n${parentId}\n${i}` : `branch\n${parentId}\n${i}\n${attempt}`)
    .digest('hex');
  // Shaped as a version-4 UUID (CONVERSATION_ID's form): 8-4-4-4-12 hex digits.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The turn a completed conversation's branches ask again: `branchAt`, or without it the turn after
 * its last complete one, never past `maxTurns` nor past what it has (complete turns + 1).
 * Undefined when it has nothing to branch (no `branches`, itself a fork).
 */
export function branchTurn(settings: ConversationSettings, turns: readonly TurnRecord[]): number | undefined {
  if (!settings.branches || settings.fork) return undefined;
  const have = completeTurns(turns);
  return Math.max(1, Math.min(settings.branchAt ?? settings.maxTurns, have + 1, settings.maxTurns));
}

/** A branch's settings: the parent's as they are (no run, no branches of its own), its own transcript file, the fork named. */
export function branchSettings(parentId: string, parent: ConversationSettings, forkId: string, atTurn: number): ConversationSettings {
  const { run: _run, branches: _branches, branchAt: _branchAt, outputFile: _outputFile, ...rest } = parent;
  return { ...rest, outputFile: safeOutputName(undefined, forkId), fork: forkRef(parentId, parent, atTurn) };
}

/** A fork's reference to its parent: the parent's run (or its parent's) rides along for the run's budget. */
function forkRef(parentId: string, parent: ConversationSettings, atTurn: number): ForkRef {
  const runId = parent.run?.id ?? parent.fork?.runId;
  return { parentId, atTurn, ...(runId !== undefined ? { runId } : {}) };
}
