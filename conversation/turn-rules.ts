/**
 * The conversation's turn logic as pure functions: which question a turn asks, which history each
 * model sees, how the follow-up prompt is built, and when the chain stops.
 */
import type { ConversationSettings, EmptyAnswerReason, QualityStopReason, Side, StopReason, TurnRecord } from './model';
import { type QualityObservation, qualityStop } from './quality-rules';
import type { ChatTurn } from '../providers/llm-provider';
import { renderTemplate } from './templates';
import { personaValues } from './goal-rules';

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
  return renderTemplate(settings.templates.followUp, { answer, question, ...personaValues(settings) });
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

/** Default budget of the `blocks` context policy, in estimated tokens of the history (bytes / 4). */
export const DEFAULT_CONTEXT_TOKENS = 8000;

/** Estimated tokens of a text for the `blocks` budget: UTF-8 bytes / 4 (a common rule of thumb for English BPE). */
const historyTokens = (text: string): number => Math.ceil(Buffer.byteLength(text, 'utf8') / 4);

/**
 * The first turn the `blocks` policy keeps before `turn`: 1 while the whole history fits in
 * `budget` tokens, then it moves `block` turns at a time, so it changes once every few turns and
 * the history before the newest exchanges stays byte-for-byte the same (a prompt-cache prefix).
 * Given only the turns from the start it returns (what the step loader reads), it returns the same.
 */
export function blocksWindowStart(side: Side, turns: TurnRecord[], turn: number, block: number, budget: number): number {
  const cost = new Map<number, number>();
  for (const t of turns) {
    if (t.turn >= turn) continue;
    const s = side === 'cloud' ? t.cloud && [t.cloud.question, t.cloud.answer] : t.local && [t.local.prompt, t.local.followUp];
    if (s) cost.set(t.turn, historyTokens(s[0]!) + historyTokens(s[1]!));
  }
  const step = Math.max(1, block);
  let start = 1;
  const total = (from: number) => [...cost].reduce((n, [k, c]) => (k >= from ? n + c : n), 0);
  while (start < turn - 1 && total(start) > budget) start += step;
  // A block step past the previous turn keeps the previous turn (the newest exchange always, as
  // cost/estimate.ts assumes); store/lua/conversation/load.lua reads from the same turn.
  return Math.max(1, Math.min(start, turn - 1));
}

/** The history a model sees at `turn` under the conversation's context policy. */
export function historyOf(side: Side, turns: TurnRecord[], turn: number, settings: ConversationSettings): ChatTurn[] {
  if (settings.contextPolicy !== 'blocks') return historyFor(side, turns, turn, settings.contextTurns);
  const start = blocksWindowStart(side, turns, turn, settings.contextTurns, settings.contextTokens ?? DEFAULT_CONTEXT_TOKENS);
  return historyFor(side, turns, turn, turn - start);
}

/**
 * Which of the cloud call's history checkpoints a later call can read (bedrock/cache-points.ts
 * HistoryCache), so caching never writes what nothing reads: on the last turn (`maxTurns`) no later
 * call starts with the whole history (`read`); a sliding window that is full drops its oldest
 * turn every call, so its history neither extends the previous call's nor is extended by the next
 * (`none`); otherwise both (undefined). A `blocks` window that moves on the last turn still gets
 * `read` (the turns before the window are not loaded to tell), which then writes unread.
 */
export function cacheHistoryOf(settings: ConversationSettings, turn: number): 'read' | 'none' | undefined {
  const extendedByNext = turn < settings.maxTurns && (settings.contextPolicy === 'blocks' || turn <= settings.contextTurns);
  if (extendedByNext) return undefined;
  const extendsPrevious = settings.contextPolicy === 'blocks' || turn <= settings.contextTurns + 1;
  return extendsPrevious ? 'read' : 'none';
}

/** The cloud call's cache fields: `cache: false` when turned off, else {@link cacheHistoryOf} when not `all`. */
export function cacheFields(settings: ConversationSettings, turn: number): { cache?: false; cacheHistory?: 'read' | 'none' } {
  if (settings.cache === false) return { cache: false };
  const history = cacheHistoryOf(settings, turn);
  return history ? { cacheHistory: history } : {};
}

/** True when `text` holds the stop phrase (case-insensitive); never without one. */
export function hitsStopPhrase(text: string, stopPhrase: string | undefined): boolean {
  return Boolean(stopPhrase) && text.toLowerCase().includes(stopPhrase!.toLowerCase());
}

/** Converse stop reasons that mean "no usable answer" even when some text came back. */
const UNUSABLE_STOPS: ReadonlySet<string> = new Set([
  'content_filtered',
  'guardrail_intervened',
  'malformed_model_output',
  'malformed_tool_use',
]);

/**
 * Why a reply cannot go on as the conversation's next message, or undefined when it can: a
 * Converse stop reason that names a refusal or a broken output, or no text at all. Such a reply is
 * never sent back as history (Converse refuses blank text blocks).
 */
export function emptyAnswerReason(reply: { text: string; stopReason?: string }): EmptyAnswerReason | undefined {
  if (reply.stopReason && UNUSABLE_STOPS.has(reply.stopReason)) return reply.stopReason as EmptyAnswerReason;
  return reply.text.trim() === '' ? 'empty_answer' : undefined;
}

/** What follows a recorded step: the next step to queue, or the chain's normal end. */
export type NextStep =
  | { kind: 'step'; side: Side; turn: number }
  | { kind: 'stop'; reason: Extract<StopReason, 'max_turns' | 'stop_phrase' | 'goal_met'> | EmptyAnswerReason | QualityStopReason };

/**
 * The one place that decides what comes after `side`'s step of `turn` recorded `text`:
 *  - after the cloud answer: a stop when it has no usable text ({@link emptyAnswerReason}: filtered,
 *    guardrail, empty; `stopReason` is the model's own) or holds the stop phrase, else the local
 *    step of the same turn;
 *  - after the local follow-up: a stop when it has no text (`empty_answer`: an empty follow-up is
 *    never sent on as the next question, see {@link emptyFollowUpNote}), when the judge role's
 *    verdict recorded with it says the goal is met (`goal_met`, `stop.goalMet`), at `maxTurns` or
 *    when it holds the stop phrase, else the cloud step of the next turn;
 *  - either side: a stop when a quality gate of `settings.quality` trips on the reply
 *    (conversation/quality-rules.ts, read with `seen`: the prompt, earlier replies, token total).
 * A stop is completed by the transcript step.
 */
export function nextAfter(
  side: Side,
  turn: number,
  text: string,
  settings: Pick<ConversationSettings, 'maxTurns' | 'stopPhrase' | 'quality'>,
  stopReason?: string,
  seen?: QualityObservation,
  goalMet?: boolean,
): NextStep {
  const gate = () => (seen ? qualityStop(text, settings.quality, seen) : undefined);
  if (side === 'cloud') {
    const unusable = emptyAnswerReason({ text, stopReason });
    if (unusable) return { kind: 'stop', reason: unusable };
    if (hitsStopPhrase(text, settings.stopPhrase)) return { kind: 'stop', reason: 'stop_phrase' };
    const bad = gate();
    return bad ? { kind: 'stop', reason: bad } : { kind: 'step', side: 'local', turn };
  }
  if (text.trim() === '') return { kind: 'stop', reason: 'empty_answer' };
  if (goalMet) return { kind: 'stop', reason: 'goal_met' };
  if (turn >= settings.maxTurns) return { kind: 'stop', reason: 'max_turns' };
  if (hitsStopPhrase(text, settings.stopPhrase)) return { kind: 'stop', reason: 'stop_phrase' };
  const bad = gate();
  return bad ? { kind: 'stop', reason: bad } : { kind: 'step', side: 'cloud', turn: turn + 1 };
}

/**
 * Why the local model's follow-up came back empty, for the conversation's record and log: a
 * reasoning model that spent its whole output cap (`maxTokens`, sent to Ollama as
 * `options.num_predict`) thinking (`stopReason` `length`), or a model that answered nothing.
 */
export function emptyFollowUpNote(
  step: { model: string; outputTokens: number; stopReason: string },
  settings: Pick<ConversationSettings, 'maxTokens'>,
): string {
  if (step.stopReason === 'length') {
    const cap =
      settings.maxTokens === undefined ? 'its num_predict' : `its num_predict of ${settings.maxTokens} (the conversation's maxTokens)`;
    return `local model ${step.model} gave no follow-up: it spent ${cap} on reasoning (${step.outputTokens} output tokens in all, done_reason "length"); raise maxTokens so the answer fits after the reasoning`;
  }
  return `local model ${step.model} gave an empty follow-up (done_reason "${step.stopReason}"); an empty follow-up is never sent on as the next question`;
}

/**
 * What the quality gates read for `side`'s reply of `turn`: its prompt, the same side's earlier
 * replies in `turns`, the template its prompt came from, and the tokens of every step in `turns`.
 */
export function qualityObservation(
  side: Side,
  turn: number,
  prompt: string,
  turns: TurnRecord[],
  settings: Pick<ConversationSettings, 'templates'>,
  truncated?: boolean,
): QualityObservation {
  const earlier: string[] = [];
  let tokensTotal = 0;
  for (const t of [...turns].sort((a, b) => a.turn - b.turn)) {
    for (const step of [t.cloud, t.local]) if (step) tokensTotal += step.inputTokens + step.outputTokens;
    if (t.turn >= turn) continue;
    const reply = side === 'cloud' ? t.cloud?.answer : t.local?.followUp;
    if (reply !== undefined) earlier.push(reply);
  }
  const template = side === 'local' ? settings.templates.followUp : turn > 1 ? settings.templates.nextQuery : undefined;
  return { prompt, earlier, template, tokensTotal, ...(truncated ? { truncated: true } : {}) };
}

/** What a step that ended the conversation `empty_answer` tells about its tokens. */
export interface EmptyStepFacts {
  outputTokens: number;
  stopReason: string;
  reasoningTokens?: number;
  reasoningTokensEstimated?: boolean;
}

/**
 * Why a step ended `empty_answer`, for the log and the conversation's `error`: a model that spent
 * its output on reasoning is named with the tokens it spent and told to raise `maxTokens`
 * (`maxTokens`: the cap the call sent, when known).
 */
export function emptyAnswerDetail(side: Side, step: EmptyStepFacts, maxTokens?: number): string {
  const cap = maxTokens === undefined ? 'the output cap' : `maxTokens ${maxTokens}`;
  const raise = `raise maxTokens${maxTokens === undefined ? '' : ` above ${maxTokens}`} (the conversation's "maxTokens", or DEFAULT_MAX_TOKENS)`;
  if (step.reasoningTokens !== undefined && step.reasoningTokens > 0) {
    const spent = `${step.reasoningTokensEstimated ? 'about ' : ''}${step.reasoningTokens} of ${step.outputTokens} output tokens`;
    return `${side} model spent ${spent} reasoning and answered no text (stop reason ${step.stopReason}); ${raise}`;
  }
  if (step.stopReason === 'max_tokens') {
    return `${side} model reached ${cap} after ${step.outputTokens} output tokens without text (reasoning not reported); ${raise}`;
  }
  return `${side} model answered no text (${step.outputTokens} output tokens, stop reason ${step.stopReason})`;
}
