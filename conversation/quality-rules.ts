/**
 * The quality gates as pure rules: whether a recorded reply should end the conversation, and why.
 * Each gate is off unless the conversation's `quality` settings name it.
 *
 * - `degenerate`: the reply is empty, holds a refusal phrase (case-insensitive substring; the
 *   default list {@link DEFAULT_REFUSALS}, or the conversation's own), or is only the prompt
 *   template (the reply equals the template with its `{{placeholders}}` removed, ignoring case,
 *   punctuation and spacing).
 * - `repetition`: the reply's similarity to an earlier reply of the same side, or to the prompt it
 *   was given (an echo), is at least `threshold` (default {@link DEFAULT_REPETITION_THRESHOLD}).
 *   Similarity is the Jaccard index of the two texts' sets of word 3-grams (lower-cased words of
 *   letters and digits; a text of fewer than 3 words counts its words instead), so 1 is identical
 *   wording and 0 no shared phrase.
 * - `max_tokens_total`: the conversation's input + output tokens, both sides, reached the cap.
 * - `truncated` (`quality.truncated: "stop"`): the reply was cut at its token cap or context
 *   window (its step records `truncated: true`); `"continue"`, the default, lets it go on.
 */
import type { QualitySettings, QualityStopReason } from './model';

export const DEFAULT_REPETITION_THRESHOLD = 0.9;

/** Phrases that mark a refusal when `degenerate: true`. */
export const DEFAULT_REFUSALS: readonly string[] = [
  "i can't help with",
  'i cannot help with',
  "i can't assist with",
  'i cannot assist with',
  "i'm sorry, but i can't",
  'i am sorry, but i cannot',
  "i won't be able to help",
  'as an ai language model',
];

/** What the rules read besides the reply itself. */
export interface QualityObservation {
  /** The prompt the reply answered. */
  prompt: string;
  /** Earlier replies of the same side, oldest first. */
  earlier: string[];
  /** The template the prompt was built from (follow-up or next-query), placeholders included. */
  template?: string;
  /** Input + output tokens of every recorded step so far, this one included. */
  tokensTotal?: number;
  /** The reply was cut at its token cap or the context window. */
  truncated?: boolean;
}

/** Lower-cased words of letters and digits. */
function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/** The text's word 3-grams (its words when it has fewer than 3). */
export function shingles(text: string): Set<string> {
  const w = wordsOf(text);
  if (w.length < 3) return new Set(w);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= w.length; i++) out.add(`${w[i]} ${w[i + 1]} ${w[i + 2]}`);
  return out;
}

/** Jaccard similarity of the two texts' word 3-grams, 0..1 (two empty texts: 1). */
export function similarity(a: string, b: string): number {
  const sa = shingles(a);
  const sb = shingles(b);
  if (sa.size === 0 && sb.size === 0) return 1;
  let shared = 0;
  for (const s of sa) if (sb.has(s)) shared++;
  return shared / (sa.size + sb.size - shared);
}

const normalised = (text: string) => wordsOf(text).join(' ');

/** True when the reply is only the template's own words (placeholders removed). */
export function isOnlyTemplate(reply: string, template: string): boolean {
  const bare = normalised(template.replace(/\{\{\s*\w+\s*\}\}/g, ' '));
  return bare !== '' && normalised(reply) === bare;
}

/** Which gate the reply trips, or undefined when none does (or none is on). */
export function qualityStop(reply: string, quality: QualitySettings | undefined, seen: QualityObservation): QualityStopReason | undefined {
  if (!quality) return undefined;
  if (quality.truncated === 'stop' && seen.truncated) return 'truncated';
  if (quality.degenerate) {
    if (reply.trim() === '') return 'degenerate';
    const refusals = quality.degenerate === true ? DEFAULT_REFUSALS : quality.degenerate.refusals;
    const lower = reply.toLowerCase();
    if (refusals.some((r) => r.trim() !== '' && lower.includes(r.toLowerCase()))) return 'degenerate';
    if (seen.template && isOnlyTemplate(reply, seen.template)) return 'degenerate';
  }
  if (quality.repetition) {
    const threshold = quality.repetition.threshold;
    if (similarity(reply, seen.prompt) >= threshold) return 'repetition';
    if (seen.earlier.some((e) => similarity(reply, e) >= threshold)) return 'repetition';
  }
  if (quality.maxTokensTotal !== undefined && (seen.tokensTotal ?? 0) >= quality.maxTokensTotal) return 'max_tokens_total';
  return undefined;
}
