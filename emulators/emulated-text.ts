/**
 * Deterministic text for the emulators: the same input always gives the same reply, every reply
 * is marked `[emulated <service> <model>]`, and "tokens" are whitespace-separated words.
 */

/** FNV-1a, 32 bit: a stable hash that needs no crypto. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function pick<T>(items: readonly T[], n: number): T {
  return items[n % items.length]!;
}

/** Whitespace-separated words. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** The emulator's token count: the number of whitespace-separated words. */
export function countTokens(text: string): number {
  return words(text).length;
}

/** Keeps the first `max` words; `truncated` tells whether any were dropped. */
export function truncateWords(text: string, max: number): { text: string; truncated: boolean } {
  const all = words(text);
  if (all.length <= max) return { text, truncated: false };
  return { text: all.slice(0, max).join(' '), truncated: true };
}

/** Removes a leading `[emulated ...]` tag so replies that quote replies do not nest tags. */
function stripTag(text: string): string {
  return text.replace(/^\s*\[emulated [^\]]*\]\s*/, '');
}

function quote(text: string, maxWords: number): string {
  const w = words(stripTag(text));
  if (w.length === 0) return '(empty)';
  return w.length > maxWords ? `${w.slice(0, maxWords).join(' ')} ...` : w.join(' ');
}

const ANSWERS = [
  'In short, the answer depends on the trade-off between cost, latency and accuracy.',
  'The key idea is to split the problem into smaller steps and check each one.',
  'Most practitioners start with the simplest approach and measure before optimising.',
  'The evidence points to a combination of design choices rather than a single cause.',
  'A good rule of thumb is to prefer clarity first and performance second.',
  'Historically this was solved by hand, but modern tools automate most of it.',
] as const;

const DETAILS = [
  'For example, caching the results of repeated work often halves the total time.',
  'One caveat is that edge cases tend to dominate once the common path is fast.',
  'It also helps to write down the assumptions so they can be tested later.',
  'Teams usually revisit the decision after a few weeks of real usage data.',
  'The main risk is hidden coupling between parts that look independent.',
] as const;

const OPENERS = ['Interesting point about', 'Building on the idea that', 'You mentioned', 'Thinking about', 'Following up on'] as const;

const QUESTIONS = [
  'how would that change at ten times the scale?',
  'what would be the first thing to measure?',
  'what is the most common mistake people make there?',
  'can you give a concrete example of it in practice?',
  'which alternative would you compare it against, and why?',
  'what would make you change your mind about it?',
] as const;

/**
 * The Bedrock emulator's answer to `question`: quotes it and adds two sentences picked by its hash,
 * plus a short reference hash, e.g.
 * `[emulated bedrock m] You asked: "What is Redis?". In short, ... (ref 1a2b3c4d)`.
 */
export function bedrockReply(model: string, question: string): string {
  const marked = markedReply('bedrock', model, question);
  if (marked !== undefined) return marked;
  const h = fnv1a(`${model}\n${question}`);
  const ref = h.toString(16).padStart(8, '0');
  return `[emulated bedrock ${model}] You asked: "${quote(question, 16)}". ${pick(ANSWERS, h)} ${pick(DETAILS, h >>> 8)} (ref ${ref})`;
}

/**
 * The Ollama emulator's reply to `prompt`, shaped like a follow-up question about it, e.g.
 * `[emulated ollama llama3.2] Following up on "the key idea ...", what would be the first thing to measure?`.
 * `temperature` (when not 0) is part of the seed: same input and temperature, same reply.
 */
export function ollamaReply(model: string, prompt: string, temperature = 0, service: 'ollama' | 'openai' = 'ollama'): string {
  const marked = markedReply(service, model, prompt);
  if (marked !== undefined) return marked;
  const h = fnv1a(`${model}\n${prompt}${temperature ? `\n${temperature}` : ''}`);
  return `[emulated ${service} ${model}] ${pick(OPENERS, h)} "${quote(prompt, 12)}", ${pick(QUESTIONS, h >>> 8)}`;
}

/** Reply markers: a prompt holding one gets a reply that exhibits a quality problem (emulators/README.md). */
export const REPLY_MARKERS = {
  refuse: '[emulate:refuse]',
  repeat: '[emulate:repeat]',
  judgeGarbage: '[emulate:judge-garbage]',
  goalMet: '[emulate:goal-met]',
} as const;

/** The answer format of the goal verdict (judge/goal-verdict.ts, GOAL_ANSWER_FORMAT). */
const GOAL_FORMAT = 'Answer with only this JSON: {"goalMet": <true|false>, "reason": "<one sentence>"}';

/**
 * A goal prompt's verdict: met when the prompt holds `[emulate:goal-met]` (in the goal, say), or
 * `[emulate:goal-met-after:N]` and the conversation so far has turn N's follow-up; else not met.
 * Prose without JSON with `[emulate:judge-garbage]`. Undefined for any other prompt.
 */
function goalReply(prompt: string): string | undefined {
  if (!prompt.trimEnd().endsWith(GOAL_FORMAT)) return undefined;
  if (prompt.includes(REPLY_MARKERS.judgeGarbage)) return 'Hard to say whether they got what they wanted.';
  const after = /\[emulate:goal-met-after:(\d+)\]/.exec(prompt);
  const met = prompt.includes(REPLY_MARKERS.goalMet) || (after !== null && prompt.includes(`Turn ${after[1]} follow-up:`));
  return JSON.stringify({ goalMet: met, reason: met ? 'The asker has what they came for.' : 'The asker still needs more.' });
}

/** The answer format the judge appends to its prompt (judge/rubric.ts, answerFormat). */
const JUDGE_FORMAT = /Answer with only this JSON: \{"scores": \{(.*)\}\}\s*$/;

/**
 * A judging prompt's answer: `{"scores": {...}}` with a score per criterion named in the answer
 * format, picked by hash within its range (same prompt, same scores); prose without JSON when the
 * prompt holds `[emulate:judge-garbage]`. Undefined for any other prompt.
 */
function judgeReply(model: string, prompt: string): string | undefined {
  const format = JUDGE_FORMAT.exec(prompt);
  if (!format) return undefined;
  if (prompt.includes(REPLY_MARKERS.judgeGarbage)) return 'Overall I found the conversation rather pleasant, with a few rough edges.';
  const scores: Record<string, number> = {};
  for (const m of format[1]!.matchAll(/"([A-Za-z][\w-]*)": <integer (-?\d+)-(-?\d+)>/g)) {
    const [min, max] = [Number(m[2]), Number(m[3])];
    scores[m[1]!] = min + (fnv1a(`${model}\n${m[1]}\n${prompt}`) % (max - min + 1));
  }
  return `Here is my assessment.\n${JSON.stringify({ scores })}`;
}

/**
 * The reply a marked prompt gets, or undefined: `[emulate:refuse]` → a refusal (no tag, as a
 * model's own refusal reads); `[emulate:repeat]` → the same sentence whatever else the prompt
 * says, so a conversation whose templates carry the marker repeats itself turn after turn.
 */
function markedReply(service: 'bedrock' | 'ollama' | 'openai', model: string, prompt: string): string | undefined {
  const judged = judgeReply(model, prompt) ?? goalReply(prompt);
  if (judged !== undefined) return judged;
  if (prompt.includes(REPLY_MARKERS.refuse)) return "I'm sorry, but I can't help with that request.";
  if (prompt.includes(REPLY_MARKERS.repeat))
    return `[emulated ${service} ${model}] As I said before, the answer stays the same whatever the question is.`;
  return undefined;
}
