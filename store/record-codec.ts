/**
 * How conversation records are laid out in Redis (see BENCHMARKS.md, redis_bytes_per_conversation).
 *
 * Format 2 (written now) keeps the conversation hash small enough for Redis's compact hash
 * encoding (listpack: every value ≤ 64 bytes) and puts every text in the steps hash:
 *   conversation hash  status, times, reasons and the settings as small fields
 *                      (maxTurns, timeoutMinutes, contextTurns, cloudModel, localModel, and
 *                      temperature, maxTokens, stopPhrase, outputFile, think, budgetUsd, budgetTokens,
 *                      cache (`0` when off), contextPolicy, contextTokens, contextWhy only when given); the transcript as `<dir id>/<name>` (name empty when it is
 *                      `outputFile`); `run` and `seed` (the run id and seed hash) only for a run's conversation;
 *                      `parent`, `forkAt` and `forkRun` (its parent's id, the turn it re-asks, the run whose budget it spends under) only for a fork;
 *                      `owner` (the API key id, docs/callers.md) only when API_KEYS_FILE named the caller
 *   steps hash         `q` the initial query, `x` templates, system prompts, quality gates, fallbacks, branches, persona, goal and stops (JSON, only when
 *                      not the defaults), `m` the run seed's meta (JSON, only when given), `c<k>` / `l<k>` the cloud and local step of turn k as
 *                      positional JSON arrays: the model as 0 when it is the conversation's, the
 *                      stop reason as 0 when it is the usual one, times in ms since `createdAt`;
 *                      a local step may end with its thinking text (0 when none) and 1 when
 *                      its prompt was cut, only when either is there.
 * A cloud step answered by a fallback model ends with the model asked first; the fallbacks
 * themselves are in `x` (`cloudFallbacks`). Readers of either that predate them ignore both.
 * After that a cloud step may end with an object of what only some answers have: `t: 1` when the
 * answer was truncated, `r` its reasoning tokens (`e: 1` when estimated), `o` the parameters the
 * Lambda left out; the model asked first is then '' when no fallback answered. A local step may
 * end with 1 when its follow-up was truncated (after its thinking and prompt-cut fields, 0 when
 * absent), then the goal verdict `{g, w, m}` when `stop.goalMet` checked it (0 when not), then
 * Ollama's `prompt_eval_duration` in ms when the answer gave one. Readers that predate them ignore
 * the trailing fields.
 * Format 1 (the first releases) stored the settings as one JSON field and steps as `cloud:<k>` /
 * `local:<k>` with absolute times; such records are still read, and a conversation started in
 * format 1 gets its remaining steps in format 1 (a rolling upgrade loses nothing).
 */
import type { CloudStep, ConversationSettings, LocalStep, Side } from '../conversation/model';
import { DEFAULT_TEMPLATES } from '../conversation/templates';

/** What decoding a format-2 step needs from its conversation. */
export interface StepContext {
  cloudModel: string;
  localModel: string;
  createdAt: number;
}

/** The stop reasons stored as 0 (Bedrock's and Ollama's ordinary ends). */
const USUAL_STOP = { cloud: 'end_turn', local: 'stop' } as const;

export const defaultOutputFile = (id: string) => `conversation-${id}.csv`;

/** Step field names of format 2. */
export const stepField = (side: Side, turn: number) => `${side === 'cloud' ? 'c' : 'l'}${turn}`;
/** Step field names of format 1. */
export const legacyStepField = (side: Side, turn: number) => `${side}:${turn}`;

/** A step field name of either format → side and turn; null for other fields. */
export function parseStepField(field: string): { side: Side; turn: number } | null {
  const m = /^(?:(c|l)|(cloud|local):)(\d+)$/.exec(field);
  if (!m) return null;
  return { side: m[1] === 'c' || m[2] === 'cloud' ? 'cloud' : 'local', turn: Number(m[3]) };
}

/** The settings as conversation-hash fields and steps-hash fields (format 2). */
export function encodeSettingsFields(s: ConversationSettings, id: string): { conv: Record<string, string>; steps: Record<string, string> } {
  const conv: Record<string, string> = {
    maxTurns: String(s.maxTurns),
    timeoutMinutes: String(s.timeoutMinutes),
    contextTurns: String(s.contextTurns),
    cloudModel: s.cloudModel,
    localModel: s.localModel,
  };
  if (s.temperature !== undefined) conv.temperature = String(s.temperature);
  if (s.maxTokens !== undefined) conv.maxTokens = String(s.maxTokens);
  if (s.stopPhrase !== undefined) conv.stopPhrase = s.stopPhrase;
  if (s.think) conv.think = '1';
  if (s.cache === false) conv.cache = '0';
  if (s.contextPolicy) conv.contextPolicy = s.contextPolicy;
  if (s.contextTokens !== undefined) conv.contextTokens = String(s.contextTokens);
  if (s.contextWhy !== undefined) conv.contextWhy = s.contextWhy;
  if (s.budget?.usd !== undefined) conv.budgetUsd = String(s.budget.usd);
  if (s.budget?.tokens !== undefined) conv.budgetTokens = String(s.budget.tokens);
  if (s.outputFile !== defaultOutputFile(id)) conv.outputFile = s.outputFile;
  if (s.run) {
    conv.run = s.run.id;
    conv.seed = s.run.seedHash;
  }
  if (s.fork) {
    conv.parent = s.fork.parentId;
    conv.forkAt = String(s.fork.atTurn);
    if (s.fork.runId !== undefined) conv.forkRun = s.fork.runId;
  }
  const steps: Record<string, string> = { q: s.initialQuery };
  // The seed's meta can be long: with the texts, out of the compact conversation hash.
  if (s.run?.meta !== undefined) steps.m = JSON.stringify(s.run.meta);
  const extra: {
    templates?: Partial<ConversationSettings['templates']>;
    systemPrompts?: ConversationSettings['systemPrompts'];
    quality?: ConversationSettings['quality'];
    cloudFallbacks?: string[];
    branches?: number;
    branchAt?: number;
    persona?: ConversationSettings['persona'];
    goal?: string;
    stop?: ConversationSettings['stop'];
  } = {};
  const templates: Partial<ConversationSettings['templates']> = {};
  if (s.templates.followUp !== DEFAULT_TEMPLATES.followUp) templates.followUp = s.templates.followUp;
  if (s.templates.nextQuery !== DEFAULT_TEMPLATES.nextQuery) templates.nextQuery = s.templates.nextQuery;
  if (Object.keys(templates).length) extra.templates = templates;
  if (s.systemPrompts.cloud !== undefined || s.systemPrompts.local !== undefined) extra.systemPrompts = s.systemPrompts;
  if (s.quality) extra.quality = s.quality;
  if (s.cloudFallbacks?.length) extra.cloudFallbacks = s.cloudFallbacks;
  if (s.branches !== undefined) extra.branches = s.branches;
  if (s.branchAt !== undefined) extra.branchAt = s.branchAt;
  if (s.persona !== undefined) extra.persona = s.persona;
  if (s.goal !== undefined) extra.goal = s.goal;
  if (s.stop) extra.stop = s.stop;
  if (Object.keys(extra).length) steps.x = JSON.stringify(extra);
  return { conv, steps };
}

/** The settings back from the conversation hash and the steps hash's `q` and `x` (format 2). */
export function decodeSettingsFields(
  conv: Record<string, string>,
  q: string,
  x: string | undefined,
  id: string,
  m?: string,
): ConversationSettings {
  const extra = (x ? JSON.parse(x) : {}) as {
    templates?: Partial<ConversationSettings['templates']>;
    systemPrompts?: ConversationSettings['systemPrompts'];
    quality?: ConversationSettings['quality'];
    cloudFallbacks?: string[];
    branches?: number;
    branchAt?: number;
    persona?: ConversationSettings['persona'];
    goal?: string;
    stop?: ConversationSettings['stop'];
  };
  const s: ConversationSettings = {
    initialQuery: q,
    outputFile: conv.outputFile ?? defaultOutputFile(id),
    maxTurns: Number(conv.maxTurns),
    timeoutMinutes: Number(conv.timeoutMinutes),
    cloudModel: conv.cloudModel!,
    localModel: conv.localModel!,
    contextTurns: Number(conv.contextTurns),
    templates: {
      followUp: extra.templates?.followUp ?? DEFAULT_TEMPLATES.followUp,
      nextQuery: extra.templates?.nextQuery ?? DEFAULT_TEMPLATES.nextQuery,
    },
    systemPrompts: extra.systemPrompts ?? {},
  };
  if (conv.temperature !== undefined) s.temperature = Number(conv.temperature);
  if (conv.maxTokens !== undefined) s.maxTokens = Number(conv.maxTokens);
  if (conv.stopPhrase !== undefined) s.stopPhrase = conv.stopPhrase;
  if (conv.think === '1') s.think = true;
  if (conv.cache === '0') s.cache = false;
  if (conv.contextPolicy === 'blocks' || conv.contextPolicy === 'sliding') s.contextPolicy = conv.contextPolicy;
  if (conv.contextTokens !== undefined) s.contextTokens = Number(conv.contextTokens);
  if (conv.contextWhy !== undefined) s.contextWhy = conv.contextWhy;
  if (conv.run !== undefined) {
    s.run = { id: conv.run, seedHash: conv.seed ?? '' };
    if (m !== undefined) s.run.meta = JSON.parse(m) as Record<string, unknown>;
  }
  if (conv.parent !== undefined)
    s.fork = { parentId: conv.parent, atTurn: Number(conv.forkAt), ...(conv.forkRun !== undefined ? { runId: conv.forkRun } : {}) };
  if (conv.budgetUsd !== undefined || conv.budgetTokens !== undefined) {
    s.budget = {
      ...(conv.budgetUsd !== undefined ? { usd: Number(conv.budgetUsd) } : {}),
      ...(conv.budgetTokens !== undefined ? { tokens: Number(conv.budgetTokens) } : {}),
    };
  }
  if (extra.quality) s.quality = extra.quality;
  if (extra.cloudFallbacks?.length) s.cloudFallbacks = extra.cloudFallbacks;
  if (extra.branches !== undefined) s.branches = extra.branches;
  if (extra.branchAt !== undefined) s.branchAt = extra.branchAt;
  if (extra.persona !== undefined) s.persona = extra.persona;
  if (extra.goal !== undefined) s.goal = extra.goal;
  if (extra.stop) s.stop = extra.stop;
  return s;
}

type Stored = string | number | CloudExtras;

/** The local step's trailing goal verdict (`stop.goalMet`): met 1/0, the reason, the model that answered. */
interface GoalStored {
  g: 0 | 1;
  w?: string;
  m: string;
}

/** The cloud step's trailing object (see the file comment). */
interface CloudExtras {
  t?: 1;
  r?: number;
  e?: 1;
  o?: string[];
  /** Prompt-cache read and write input tokens. */
  cr?: number;
  cw?: number;
}

export function encodeCloudStep(c: CloudStep, ctx: StepContext): string {
  const fields: Stored[] = [
    c.question,
    c.answer,
    c.model === ctx.cloudModel ? 0 : c.model,
    c.inputTokens,
    c.outputTokens,
    c.latencyMs,
    c.stopReason === USUAL_STOP.cloud ? 0 : c.stopReason,
    c.startedAt - ctx.createdAt,
    c.at - ctx.createdAt,
  ];
  const extras: CloudExtras = {};
  if (c.truncated) extras.t = 1;
  if (c.reasoningTokens !== undefined) extras.r = c.reasoningTokens;
  if (c.reasoningTokensEstimated) extras.e = 1;
  if (c.omittedParameters?.length) extras.o = c.omittedParameters;
  if (c.cacheReadInputTokens) extras.cr = c.cacheReadInputTokens;
  if (c.cacheWriteInputTokens) extras.cw = c.cacheWriteInputTokens;
  const hasExtras = Object.keys(extras).length > 0;
  if (c.requestedModel) fields.push(c.requestedModel === ctx.cloudModel ? 0 : c.requestedModel);
  else if (hasExtras) fields.push('');
  if (hasExtras) fields.push(extras);
  return JSON.stringify(fields);
}

export function encodeLocalStep(l: LocalStep, ctx: StepContext): string {
  const fields: (Stored | GoalStored)[] = [
    l.prompt,
    l.followUp,
    l.model === ctx.localModel ? 0 : l.model,
    l.inputTokens,
    l.outputTokens,
    l.latencyMs,
    l.stopReason === USUAL_STOP.local ? 0 : l.stopReason,
    l.at - ctx.createdAt,
  ];
  const goal: GoalStored | undefined = l.goal
    ? { g: l.goal.met ? 1 : 0, ...(l.goal.reason ? { w: l.goal.reason } : {}), m: l.goal.model }
    : undefined;
  const evalMs = l.promptEvalMs !== undefined;
  if (l.thinking || l.promptTruncated || l.truncated || goal || evalMs) fields.push(l.thinking || 0);
  if (l.promptTruncated || l.truncated || goal || evalMs) fields.push(l.promptTruncated ? 1 : 0);
  if (l.truncated || goal || evalMs) fields.push(l.truncated ? 1 : 0);
  if (goal || evalMs) fields.push(goal ?? 0);
  if (evalMs) fields.push(l.promptEvalMs!);
  return JSON.stringify(fields);
}

export function decodeCloudStep(json: string, ctx: StepContext): CloudStep {
  const [question, answer, model, inputTokens, outputTokens, latencyMs, stopReason, startedAt, at, requested, extras] = JSON.parse(
    json,
  ) as Stored[];
  const step: CloudStep = {
    question: question as string,
    answer: answer as string,
    model: model === 0 ? ctx.cloudModel : (model as string),
    inputTokens: inputTokens as number,
    outputTokens: outputTokens as number,
    latencyMs: latencyMs as number,
    stopReason: stopReason === 0 ? USUAL_STOP.cloud : (stopReason as string),
    startedAt: ctx.createdAt + (startedAt as number),
    at: ctx.createdAt + (at as number),
  };
  if (requested !== undefined && requested !== '') step.requestedModel = requested === 0 ? ctx.cloudModel : (requested as string);
  if (extras && typeof extras === 'object') {
    if (extras.t === 1) step.truncated = true;
    if (typeof extras.r === 'number') step.reasoningTokens = extras.r;
    if (extras.e === 1) step.reasoningTokensEstimated = true;
    if (Array.isArray(extras.o) && extras.o.length) step.omittedParameters = extras.o;
    if (typeof extras.cr === 'number') step.cacheReadInputTokens = extras.cr;
    if (typeof extras.cw === 'number') step.cacheWriteInputTokens = extras.cw;
  }
  return step;
}

export function decodeLocalStep(json: string, ctx: StepContext): LocalStep {
  const [prompt, followUp, model, inputTokens, outputTokens, latencyMs, stopReason, at, thinking, promptCut, truncated, goal, evalMs] =
    JSON.parse(json) as (Stored | GoalStored)[];
  const step: LocalStep = {
    prompt: prompt as string,
    followUp: followUp as string,
    model: model === 0 ? ctx.localModel : (model as string),
    inputTokens: inputTokens as number,
    outputTokens: outputTokens as number,
    latencyMs: latencyMs as number,
    stopReason: stopReason === 0 ? USUAL_STOP.local : (stopReason as string),
    at: ctx.createdAt + (at as number),
  };
  if (typeof thinking === 'string' && thinking !== '') step.thinking = thinking;
  if (promptCut === 1) step.promptTruncated = true;
  if (truncated === 1) step.truncated = true;
  if (goal && typeof goal === 'object' && 'g' in goal) {
    step.goal = { met: goal.g === 1, ...(goal.w ? { reason: goal.w } : {}), model: goal.m };
  }
  if (typeof evalMs === 'number') step.promptEvalMs = evalMs;
  return step;
}

// ---- Format 1: read, and written only for steps of conversations started before format 2 ----

export function encodeLegacyCloudStep(c: CloudStep): string {
  return JSON.stringify([c.question, c.answer, c.model, c.inputTokens, c.outputTokens, c.latencyMs, c.stopReason, c.startedAt, c.at]);
}

export function encodeLegacyLocalStep(l: LocalStep): string {
  return JSON.stringify([l.prompt, l.followUp, l.model, l.inputTokens, l.outputTokens, l.latencyMs, l.stopReason, l.at]);
}

/** Format 1's `settings` JSON (defaults left out since the compact records; whole before that). */
export function decodeLegacySettings(json: string, id: string): ConversationSettings {
  const s = JSON.parse(json) as Partial<ConversationSettings>;
  return {
    ...(s as ConversationSettings),
    outputFile: s.outputFile ?? defaultOutputFile(id),
    templates: {
      followUp: s.templates?.followUp ?? DEFAULT_TEMPLATES.followUp,
      nextQuery: s.templates?.nextQuery ?? DEFAULT_TEMPLATES.nextQuery,
    },
    systemPrompts: s.systemPrompts ?? {},
  };
}

/** Format 1 steps: positional arrays with absolute times, or the first releases' objects. */
export function decodeLegacyCloudStep(json: string): CloudStep {
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return v as CloudStep;
  const [question, answer, model, inputTokens, outputTokens, latencyMs, stopReason, startedAt, at] = v as [
    string,
    string,
    string,
    number,
    number,
    number,
    string,
    number,
    number,
  ];
  return { question, answer, model, inputTokens, outputTokens, latencyMs, stopReason, startedAt, at };
}

export function decodeLegacyLocalStep(json: string): LocalStep {
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return v as LocalStep;
  const [prompt, followUp, model, inputTokens, outputTokens, latencyMs, stopReason, at] = v as [
    string,
    string,
    string,
    number,
    number,
    number,
    string,
    number,
  ];
  return { prompt, followUp, model, inputTokens, outputTokens, latencyMs, stopReason, at };
}
