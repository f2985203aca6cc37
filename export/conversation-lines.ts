/**
 * One conversation as dataset lines, with no I/O: the OpenAI chat-format line, the ShareGPT line,
 * and the CSV rows of every turn, each carrying the conversation's provenance.
 *
 * The dialogue is the one the chosen model actually saw: with `cloud` as the assistant the user
 * turns are the questions (the opening query, then the rendered next-query template), with `local`
 * they are the follow-up prompts. A turn whose answer has no usable text (filtered, empty, or
 * missing because the conversation ended) ends the dialogue there, with its unanswered prompt left
 * out, so roles always alternate user/assistant and no assistant message is ever empty. Thinking
 * never enters a message; it stays in the metadata of its step.
 */
import { stringify } from 'csv-stringify/sync';
import type { ConversationWithTurns, GoalVerdict, Persona, Side, TurnRecord } from '../conversation/model';
import { emptyAnswerReason } from '../conversation/turn-rules';
import { CSV_COLUMNS, neutraliseFormula, transcriptRows } from '../transcript/transcript-csv';
import { stepCostUsd, type ConversationCost } from '../cost/conversation-cost';
import type { PriceTable } from '../cost/price-table';
import type { Judgement } from '../store/interfaces';
import type { WeightMark } from './export-options';

/** One exchange of the exported dialogue. */
export interface DialoguePair {
  turn: number;
  user: string;
  assistant: string;
}

/** The dialogue `side` took part in as the assistant, and that side's system prompt. */
export function dialogueOf(conv: ConversationWithTurns, side: Side): { system?: string; pairs: DialoguePair[] } {
  const { settings } = conv.record;
  const pairs: DialoguePair[] = [];
  for (const t of [...conv.turns].sort((a, b) => a.turn - b.turn)) {
    const pair = pairOf(t, side);
    if (!pair) break;
    pairs.push(pair);
  }
  const system = settings.systemPrompts[side];
  return system !== undefined && system.trim() !== '' ? { system, pairs } : { pairs };
}

function pairOf(t: TurnRecord, side: Side): DialoguePair | undefined {
  if (side === 'cloud') {
    const c = t.cloud;
    if (!c || c.question.trim() === '' || emptyAnswerReason({ text: c.answer, stopReason: c.stopReason })) return undefined;
    return { turn: t.turn, user: c.question, assistant: c.answer };
  }
  const l = t.local;
  if (!l || l.prompt.trim() === '' || l.followUp.trim() === '') return undefined;
  return { turn: t.turn, user: l.prompt, assistant: l.followUp };
}

/** What every exported line says about where its conversation came from. */
export interface Provenance {
  conversationId: string;
  runId: string | null;
  seedHash: string | null;
  status: string;
  stopReason: string | null;
  error?: string;
  /** Which model plays the assistant in the messages (openai, sharegpt). */
  assistant?: Side;
  cloudModel: string;
  localModel: string;
  templates: { followUp: string; nextQuery: string };
  /** How many earlier exchanges each model saw with a prompt: a dialogue longer than this was never seen whole. */
  contextTurns: number;
  systemPrompts: { cloud?: string; local?: string };
  createdAt: string;
  finishedAt: string | null;
  /** Turns with a recorded cloud answer. */
  turns: number;
  /** Exchanges in the exported dialogue. */
  exchanges?: number;
  tokens: { cloudInput: number; cloudOutput: number; localInput: number; localOutput: number };
  latencyMs: { cloud: number; local: number };
  /** Every recorded step: its model, tokens, latency and stop reason (and thinking, when any). */
  steps: StepMeta[];
  /** The seed's own `meta` as uploaded; null for a conversation without one. */
  meta: Record<string, unknown> | null;
  /** A fork's parent and branch point (its turns before it are the parent's); absent for other conversations. */
  fork?: { parentId: string; atTurn: number };
  /** What the conversation cost, USD per side (null: a model without a price); absent when not priced. */
  costUsd?: { cloud: number | null; local: number | null; total: number | null };
  /** The earlier conversation of the run this one near-duplicates (MinHash, DEDUP_THRESHOLD); absent when none. */
  nearDuplicateOf?: { id: string; similarity: number };
  /** Who asked (the local side's persona), as given; absent without one. */
  persona?: Persona;
  /** What the asker wanted; absent without one. */
  goal?: string;
  /** The judge's scores (README, "Judge"); null when not judged; absent when not asked for. */
  judge?: { status: string; scores?: Record<string, number>; model: string; error?: string } | null;
}

/** A conversation as exported: its record and turns, and what rides along (judgement, cost). */
export type ExportItem = ConversationWithTurns & {
  judge?: Judgement | null;
  cost?: ConversationCost;
};

interface StepMeta {
  turn: number;
  cloud?: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    stopReason: string;
    truncated?: boolean;
    reasoningTokens?: number;
    omittedParameters?: string[];
    /** Input tokens read from / written to Bedrock's prompt cache (not in `inputTokens`), when non-zero. */
    cacheReadInputTokens?: number;
    cacheWriteInputTokens?: number;
  };
  local?: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    stopReason: string;
    thinking?: string;
    promptTruncated?: boolean;
    truncated?: boolean;
    /** The goal verdict after this follow-up (`stop.goalMet`). */
    goal?: GoalVerdict;
  };
}

/** The provenance of a conversation (see {@link Provenance}). */
export function provenanceOf(conv: ExportItem): Provenance {
  const { record, turns } = conv;
  const s = record.settings;
  const tokens = { cloudInput: 0, cloudOutput: 0, localInput: 0, localOutput: 0 };
  const latencyMs = { cloud: 0, local: 0 };
  const steps: StepMeta[] = [];
  for (const t of [...turns].sort((a, b) => a.turn - b.turn)) {
    const step: StepMeta = { turn: t.turn };
    if (t.cloud) {
      const c = t.cloud;
      tokens.cloudInput += c.inputTokens;
      tokens.cloudOutput += c.outputTokens;
      latencyMs.cloud += c.latencyMs;
      step.cloud = {
        model: c.model,
        inputTokens: c.inputTokens,
        outputTokens: c.outputTokens,
        latencyMs: c.latencyMs,
        stopReason: c.stopReason,
      };
      if (c.truncated) step.cloud.truncated = true;
      if (c.reasoningTokens !== undefined) step.cloud.reasoningTokens = c.reasoningTokens;
      if (c.omittedParameters?.length) step.cloud.omittedParameters = c.omittedParameters;
      if (c.cacheReadInputTokens) step.cloud.cacheReadInputTokens = c.cacheReadInputTokens;
      if (c.cacheWriteInputTokens) step.cloud.cacheWriteInputTokens = c.cacheWriteInputTokens;
    }
    if (t.local) {
      const l = t.local;
      tokens.localInput += l.inputTokens;
      tokens.localOutput += l.outputTokens;
      latencyMs.local += l.latencyMs;
      step.local = {
        model: l.model,
        inputTokens: l.inputTokens,
        outputTokens: l.outputTokens,
        latencyMs: l.latencyMs,
        stopReason: l.stopReason,
      };
      if (l.thinking) step.local.thinking = l.thinking;
      if (l.promptTruncated) step.local.promptTruncated = true;
      if (l.truncated) step.local.truncated = true;
      if (l.goal) step.local.goal = l.goal;
    }
    steps.push(step);
  }
  const p: Provenance = {
    conversationId: record.id,
    runId: s.run?.id ?? null,
    seedHash: s.run?.seedHash ?? null,
    status: record.status,
    stopReason: record.stopReason ?? record.pendingStop ?? null,
    cloudModel: s.cloudModel,
    localModel: s.localModel,
    templates: s.templates,
    contextTurns: s.contextTurns,
    systemPrompts: s.systemPrompts,
    createdAt: new Date(record.createdAt).toISOString(),
    finishedAt: record.finishedAt === undefined ? null : new Date(record.finishedAt).toISOString(),
    turns: turns.filter((t) => t.cloud).length,
    tokens,
    latencyMs,
    steps,
    meta: s.run?.meta ?? null,
  };
  if (record.error !== undefined) p.error = record.error;
  if (s.fork) p.fork = { ...s.fork };
  if (record.nearDuplicateOf) p.nearDuplicateOf = record.nearDuplicateOf;
  if (s.persona !== undefined) p.persona = s.persona;
  if (s.goal !== undefined) p.goal = s.goal;
  if (conv.cost) p.costUsd = { cloud: conv.cost.cloudUsd, local: conv.cost.localUsd, total: conv.cost.totalUsd };
  if (conv.judge !== undefined) {
    const j = conv.judge;
    p.judge = j && { status: j.status, model: j.model, ...(j.scores ? { scores: j.scores } : {}), ...(j.error ? { error: j.error } : {}) };
  }
  return p;
}

/** What an openai line carries beyond the messages (default: nothing). */
export interface OpenaiLineOptions {
  /** Add our `metadata` key (the provenance): not a key of OpenAI's format, so only when asked. */
  metadata?: boolean;
  /** Which assistant messages get `weight` 1 (the others 0); absent or `none`: no `weight` key. */
  weights?: WeightMark;
}

/** The weight of the assistant message of `pair` (the `i`th of `n`), or undefined for no `weight` key. */
function weightOf(mark: WeightMark | undefined, pair: DialoguePair, i: number, n: number): 0 | 1 | undefined {
  if (!mark) return undefined;
  if (mark.mark === 'turns') return mark.turns.has(pair.turn) ? 1 : 0;
  if (mark.mark === 'none') return undefined;
  return mark.mark === 'all' || i === n - 1 ? 1 : 0;
}

/**
 * The OpenAI chat fine-tuning line (`{"messages":[…]}` and a newline: only the keys the format
 * defines, `weight` on assistant messages when asked, our `metadata` when asked), or undefined
 * when the dialogue has no usable exchange.
 */
export function openaiLine(conv: ExportItem, assistant: Side, opts: OpenaiLineOptions = {}): string | undefined {
  const { system, pairs } = dialogueOf(conv, assistant);
  if (pairs.length === 0) return undefined;
  const messages: { role: 'system' | 'user' | 'assistant'; content: string; weight?: 0 | 1 }[] = [];
  if (system !== undefined) messages.push({ role: 'system', content: system });
  pairs.forEach((p, i) => {
    const weight = weightOf(opts.weights, p, i, pairs.length);
    messages.push(
      { role: 'user', content: p.user },
      weight === undefined ? { role: 'assistant', content: p.assistant } : { role: 'assistant', content: p.assistant, weight },
    );
  });
  const line: Record<string, unknown> = { messages };
  if (opts.metadata) line.metadata = { ...provenanceOf(conv), assistant, exchanges: pairs.length };
  return `${JSON.stringify(line)}\n`;
}

/** What a sharegpt line carries beyond the turns. */
export interface SharegptLineOptions {
  /** Add our `metadata` key (the provenance). Default true. */
  metadata?: boolean;
  /** The system prompt as a first `{"from":"system"}` turn (default: axolotl's convention) or a top-level `system` field. */
  system?: 'turn' | 'field';
}

/**
 * The ShareGPT line (`{"conversations":[{"from":"system"…}?,{"from":"human",…},{"from":"gpt",…}],"metadata"}`
 * and a newline), or undefined when the dialogue has no usable exchange.
 */
export function sharegptLine(conv: ExportItem, assistant: Side, opts: SharegptLineOptions = {}): string | undefined {
  const { system, pairs } = dialogueOf(conv, assistant);
  if (pairs.length === 0) return undefined;
  const conversations: { from: string; value: string }[] = [];
  const asField = opts.system === 'field';
  if (system !== undefined && !asField) conversations.push({ from: 'system', value: system });
  for (const p of pairs) conversations.push({ from: 'human', value: p.user }, { from: 'gpt', value: p.assistant });
  const line: Record<string, unknown> = { conversations };
  if (system !== undefined && asField) line.system = system;
  if (opts.metadata ?? true) line.metadata = { ...provenanceOf(conv), assistant, exchanges: pairs.length };
  return `${JSON.stringify(line)}\n`;
}

/** The export CSV's columns: the transcript's, then the conversation's provenance. */
export const EXPORT_CSV_COLUMNS = [
  ...CSV_COLUMNS,
  'status',
  'run_id',
  'seed_hash',
  'templates',
  'system_prompts',
  'meta',
  'judge_scores',
] as const;

const CSV_OPTIONS = (escapeFormulas: boolean) => ({
  columns: [...EXPORT_CSV_COLUMNS],
  record_delimiter: '\r\n',
  quoted_match: /[\r\n",]/,
  cast: { string: (v: string) => (escapeFormulas ? neutraliseFormula(v) : v) },
});

/** The export CSV's header line. */
export function exportCsvHeader(): string {
  return `${EXPORT_CSV_COLUMNS.join(',')}\r\n`;
}

/** The CSV rows (no header) of every turn of a conversation with a cloud answer; '' when none. */
export function exportCsvRows(conv: ExportItem, escapeFormulas: boolean, prices?: PriceTable): string {
  const { record, turns } = conv;
  const s = record.settings;
  const extra = {
    status: record.status,
    run_id: s.run?.id ?? '',
    seed_hash: s.run?.seedHash ?? '',
    templates: JSON.stringify(s.templates),
    system_prompts: s.systemPrompts.cloud !== undefined || s.systemPrompts.local !== undefined ? JSON.stringify(s.systemPrompts) : '',
    meta: s.run?.meta ? JSON.stringify(s.run.meta) : '',
    judge_scores: conv.judge?.scores ? JSON.stringify(conv.judge.scores) : '',
  };
  const costOf = prices
    ? (side: Side, step: { model: string; inputTokens: number; outputTokens: number }) => stepCostUsd(side, step, prices)
    : undefined;
  const rows = transcriptRows(record, turns, costOf).map((r) => ({ ...r, ...extra }));
  return rows.length ? stringify(rows, { header: false, ...CSV_OPTIONS(escapeFormulas) }) : '';
}
